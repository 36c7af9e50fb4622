import { Link } from '../components/Link';

export function NotFound({ path }: { path: string }) {
  return (
    <div className="card p-6">
      <h1 className="text-lg font-semibold">Page not found</h1>
      <p className="muted mt-1 text-sm">
        Nothing lives at <code className="break-all">{path}</code>.{' '}
        <Link href="/" className="link">
          Back to the fleet
        </Link>
      </p>
    </div>
  );
}
