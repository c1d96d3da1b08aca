import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import type { CommandRecord, Page } from '../../api/types';
import { formatMs, formatTime } from '../../format';
import { Pager } from '../../components/Pager';

const PAGE_SIZE = 10;

export function CommandAudit({ meterId }: { meterId: string }) {
  const [page, setPage] = useState(1);
  const commands = useQuery({
    queryKey: ['commands', meterId, page],
    queryFn: () =>
      call<Page<CommandRecord>>(
        api.GET('/api/meters/{id}/commands', {
          params: { path: { id: meterId }, query: { page, limit: PAGE_SIZE } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const data = commands.data;
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Command audit</h2>
      {data && data.data.length === 0 ? (
        <p className="muted">No command yet.</p>
      ) : (
        <table data-testid="command-audit">
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">By</th>
              <th scope="col">Command</th>
              <th scope="col">Code</th>
              <th scope="col">Old → new</th>
              <th scope="col">Result</th>
              <th scope="col">Meter time</th>
            </tr>
          </thead>
          <tbody>
            {data?.data.map((c) => (
              <tr key={c.id}>
                <td>{formatTime(c.requestedAt)}</td>
                <td>{c.requestedBy.username ?? '—'}</td>
                <td>{c.commandType}</td>
                <td>{c.obisCode ? <code>{c.obisCode}</code> : 'configured codes'}</td>
                <td>{c.commandType === 'write' ? `${c.oldValue ?? '—'} → ${c.newValue ?? '—'}` : ''}</td>
                <td>
                  {c.status}
                  {c.error && <span className="muted"> ({c.error})</span>}
                </td>
                <td>{formatMs(c.responseTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        label="Command pages"
        page={page}
        pages={data?.pagination.pages}
        onPage={setPage}
        previous="Newer"
        next="Older"
      />
    </section>
  );
}
