"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { useSession } from "@/lib/session";
import { ThemeToggle } from "@/components/theme-toggle";

const ICONS: Record<string, ReactNode> = {
  overview: <path d="M3 13h4v8H3zM10 8h4v13h-4zM17 3h4v18h-4z" />,
  providers: <path d="M4 5h16v5H4zM4 14h16v5H4zM7 7.5h.01M7 16.5h.01" />,
  rules: <path d="M5 4v6a4 4 0 0 0 4 4h10M15 10l4 4-4 4M5 20v-4" />,
  tester: <path d="M9 3h6M10 3v6L4 19a1.5 1.5 0 0 0 1.3 2h13.4a1.5 1.5 0 0 0 1.3-2L14 9V3" />,
  tenants: <path d="M16 11a3 3 0 1 0-3-3M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM2 20a6 6 0 0 1 12 0M14 14a6 6 0 0 1 8 6" />,
  logs: <path d="M4 6h16M4 12h16M4 18h10" />,
  spend: <path d="M12 3v18M16.5 7.5C16 6 14.3 5 12 5c-2.8 0-4.5 1.4-4.5 3.2 0 4.3 9 2.3 9 6.6 0 1.9-1.8 3.2-4.5 3.2-2.4 0-4.2-1-4.8-2.7" />,
  audit: <path d="M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6zM9 12l2 2 4-4" />,
  users: <path d="M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0" />,
  account: <path d="M7 11V8a5 5 0 0 1 10 0v3M5 11h14v10H5z" />,
};

function Icon({ name }: { name: string }) {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      {ICONS[name]}
    </svg>
  );
}

interface NavItem {
  href: string;
  label: string;
  icon: string;
  adminOnly?: boolean;
}

const SECTIONS: { title: string; items: NavItem[] }[] = [
  { title: "Monitor", items: [
    { href: "/", label: "Overview", icon: "overview" },
    { href: "/logs", label: "Request logs", icon: "logs" },
    { href: "/spend", label: "Spend", icon: "spend" },
  ] },
  { title: "Configure", items: [
    { href: "/providers", label: "Providers", icon: "providers" },
    { href: "/rules", label: "Routing rules", icon: "rules" },
    { href: "/rules/tester", label: "Rule tester", icon: "tester" },
    { href: "/tenants", label: "Tenants & keys", icon: "tenants" },
  ] },
  { title: "Administer", items: [
    { href: "/audit", label: "Audit log", icon: "audit" },
    { href: "/users", label: "Users", icon: "users", adminOnly: true },
    { href: "/account", label: "Account", icon: "account" },
  ] },
];

function isCurrent(pathname: string, href: string): boolean {
  if (href === "/") return pathname === "/";
  if (href === "/rules") return pathname === "/rules" || (pathname.startsWith("/rules/") && !pathname.startsWith("/rules/tester"));
  return pathname === href || pathname.startsWith(`${href}/`);
}

/** Below this width the sidebar is a drawer behind a menu button (globals.css agrees). */
const DRAWER_QUERY = "(max-width: 1023.98px)";

export function Shell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const { me, logout } = useSession();
  const [drawerOpen, setDrawerOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  const sidebar = useRef<HTMLElement>(null);

  // A followed link closes the drawer.
  useEffect(() => setDrawerOpen(false), [pathname]);

  useEffect(() => {
    if (!drawerOpen) return;
    const first = sidebar.current?.querySelector<HTMLElement>("nav a");
    const frame = requestAnimationFrame(() => first?.focus());
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        setDrawerOpen(false);
        menuButton.current?.focus();
      }
    };
    const wide = window.matchMedia(DRAWER_QUERY);
    const onResize = () => {
      if (!wide.matches) setDrawerOpen(false);
    };
    window.addEventListener("keydown", onKey);
    wide.addEventListener("change", onResize);
    return () => {
      cancelAnimationFrame(frame);
      window.removeEventListener("keydown", onKey);
      wide.removeEventListener("change", onResize);
    };
  }, [drawerOpen]);

  return (
    <div className={`shell ${drawerOpen ? "drawer-open" : ""}`}>
      <a className="skip-link" href="#main-content">
        Skip to content
      </a>
      <header className="topbar">
        <button
          ref={menuButton}
          type="button"
          className="btn btn-small menu-button"
          aria-expanded={drawerOpen}
          aria-controls="sidebar"
          onClick={() => setDrawerOpen((open) => !open)}
        >
          <svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden="true">
            <path d="M4 6h16M4 12h16M4 18h16" />
          </svg>
          Menu
        </button>
        <span className="topbar-brand">
          <span className="brand-mark" aria-hidden="true">
            R
          </span>
          RouterX
        </span>
      </header>
      {drawerOpen ? <div className="drawer-backdrop" aria-hidden="true" onClick={() => setDrawerOpen(false)} /> : null}
      <aside className="sidebar" id="sidebar" ref={sidebar} aria-label="Sidebar">
        <div className="sidebar-inner">
          <div className="brand">
            <span className="brand-mark" aria-hidden="true">
              R
            </span>
            <span>
              RouterX
              <span className="brand-sub">Admin Console</span>
            </span>
          </div>
          <nav className="nav" aria-label="Main">
            {SECTIONS.map((section) => (
              <div key={section.title}>
                <div className="nav-section">{section.title}</div>
                {section.items
                  .filter((item) => !item.adminOnly || me.role === "admin")
                  .map((item) => (
                    <Link key={item.href} href={item.href} aria-current={isCurrent(pathname, item.href) ? "page" : undefined}>
                      <Icon name={item.icon} />
                      {item.label}
                    </Link>
                  ))}
              </div>
            ))}
          </nav>
          <div className="sidebar-footer">
            <ThemeToggle />
            <div className="whoami">
              <span title="Signed in as">{me.username}</span>
              <span className="role">{me.role}</span>
            </div>
            <button type="button" className="btn btn-small" onClick={() => void logout()}>
              Sign out
            </button>
          </div>
        </div>
      </aside>
      <div className="main">
        {me.default_password ? (
          <div className="banner" role="alert">
            <span>This account still uses the default password. Anyone who knows it can change your gateway.</span>
            <Link href="/account">Change the password</Link>
          </div>
        ) : null}
        <main className="content" id="main-content" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
