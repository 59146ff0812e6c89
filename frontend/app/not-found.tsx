import Link from "next/link";

export default function NotFound() {
  return (
    <main className="login-wrap">
      <div className="login-card">
        <h1>Page not found</h1>
        <p className="sub">There is no console page at this address.</p>
        <Link className="btn btn-primary" href="/">
          Go to the overview
        </Link>
      </div>
    </main>
  );
}
