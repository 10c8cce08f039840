import { NavLink, Outlet } from "react-router-dom";
import { useAuth } from "../auth";

export function Layout() {
  const { signOut } = useAuth();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">ClipForge</span>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/" end>
                Library
              </NavLink>
            </li>
            <li>
              <NavLink to="/plugins">Plugins</NavLink>
            </li>
            <li>
              <NavLink to="/upload">Upload</NavLink>
            </li>
            <li>
              <NavLink to="/keys">Keys</NavLink>
            </li>
          </ul>
        </nav>
        <button type="button" className="link-button" onClick={() => signOut("You signed out.")}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

/** A page that is not built yet, and says so. */
export function ComingNext({ title, what }: { title: string; what: string }) {
  return (
    <section aria-labelledby="placeholder-title">
      <h1 id="placeholder-title">{title}</h1>
      <p className="coming-next">
        <strong>Coming next:</strong> {what} This page does not work yet.
      </p>
    </section>
  );
}
