/** Previous / next over a numbered list of pages; nothing when there is a single page. */
export function Pager({
  label,
  page,
  pages,
  onPage,
  previous = 'Previous',
  next = 'Next',
}: {
  label: string;
  page: number;
  pages: number | undefined;
  onPage: (page: number) => void;
  previous?: string;
  next?: string;
}) {
  if (!pages || pages <= 1) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        {previous}
      </button>
      <span>
        Page {page} of {pages}
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        {next}
      </button>
    </nav>
  );
}
