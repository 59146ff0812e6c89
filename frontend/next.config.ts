import type { NextConfig } from "next";

// The admin API the console talks to. Next.js bakes rewrites into the build
// (.next/routes-manifest.json), so ADMIN_API_URL is read by `next build`: set it there. The
// browser only ever calls the console's own origin (/api/...), so the session cookie set by the
// admin API stays httpOnly and first-party and no CORS is involved.
const adminApiUrl = (process.env.ADMIN_API_URL || "http://127.0.0.1:8081").replace(/\/+$/, "");

// Headers for every response. The page Content-Security-Policy carries a per-request nonce and
// is set by proxy.ts; this static policy covers everything proxy.ts does not match (static
// files, proxied API answers), so every response has one.
const staticCsp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

const nextConfig: NextConfig = {
  // The e2e suite builds into its own directory so that it never replaces a normal build.
  distDir: process.env.NEXT_DIST_DIR || ".next",
  poweredByHeader: false,
  reactStrictMode: true,
  productionBrowserSourceMaps: false,
  async headers() {
    return [
      { source: "/:path*", headers: securityHeaders },
      // Pages get their nonce-bearing policy from proxy.ts; what proxy.ts does not see gets
      // this one.
      { source: "/api/:path*", headers: [{ key: "Content-Security-Policy", value: staticCsp }] },
      { source: "/_next/:path*", headers: [{ key: "Content-Security-Policy", value: staticCsp }] },
      { source: "/favicon.ico", headers: [{ key: "Content-Security-Policy", value: staticCsp }] },
    ];
  },
  async rewrites() {
    return [{ source: "/api/:path*", destination: `${adminApiUrl}/api/:path*` }];
  },
};

export default nextConfig;
