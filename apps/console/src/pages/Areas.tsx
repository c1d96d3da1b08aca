import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { Area, Ok, Page } from '../api/types';
import { useCan } from '../auth';
import { Link } from '../router';
import { Pager } from '../components/Pager';

const PAGE_SIZE = 50;

export function AreasPage() {
  const can = useCan();
  const [page, setPage] = useState(1);
  const areas = useQuery({
    queryKey: ['areas', page],
    queryFn: () => call<Page<Area>>(api.GET('/api/areas', { params: { query: { page, limit: PAGE_SIZE } } })),
    placeholderData: keepPreviousData,
  });
  const data = areas.data;
  return (
    <section>
      <h1>Areas</h1>
      {areas.error && <p role="alert">{areas.error.message}</p>}
      <table data-testid="areas-table">
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col">Name</th>
            <th scope="col">Meters</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          {data?.data.map((a) => (
            <tr key={a.id}>
              <td>{a.code}</td>
              <td>{a.name}</td>
              <td className="num">
                <Link to={`/meters?area=${a.id}`}>{a.meterCount}</Link>
              </td>
              <td>{a.description ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager label="Area pages" page={page} pages={data?.pagination.pages} onPage={setPage} />
      {can.createAreas && <NewArea />}
    </section>
  );
}

function NewArea() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation({
    mutationFn: () =>
      call<Ok<Area>>(
        api.POST('/api/areas', {
          // The document types description as an object (no `type` beside `nullable` in CreateAreaDto);
          // the api takes a string. Drop the cast once docs/openapi.json says `type: string`.
          body: { name, code, ...(description.trim() && { description: description.trim() as never }) },
        }),
      ),
    onSuccess: () => {
      setName('');
      setCode('');
      setDescription('');
      void queryClient.invalidateQueries({ queryKey: ['areas'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="new-area-title">
      <h2 id="new-area-title">New area</h2>
      <div className="row">
        <label>
          Name
          <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Code
          <input
            required
            maxLength={32}
            pattern="[A-Za-z0-9_-]+"
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
        </label>
        <label>
          Description
          <input maxLength={500} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <button type="submit" disabled={create.isPending}>
          Create
        </button>
      </div>
      <div role="status">{create.error && <p className="error">{create.error.message}</p>}</div>
    </form>
  );
}
