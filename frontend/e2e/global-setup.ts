// Starts the whole stack for the browser tests and returns its teardown:
//   routerx migrate + seed on a fresh SQLite file, routerx gateway, routerx admin,
//   `next build` (into .next-e2e, with the rewrite aimed at this admin API) and server.mjs.
// Ports: E2E_GATEWAY_PORT / E2E_ADMIN_PORT / E2E_CONSOLE_PORT, else free ones.
// E2E_SKIP_BUILD=1 reuses .next-e2e when it was built for the same admin URL.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const FRONTEND = path.resolve(__dirname, "..");
const BACKEND = path.resolve(FRONTEND, "..", "backend");
const ROUTERX = path.join(BACKEND, ".venv", "bin", "routerx");
const DIST_DIR = ".next-e2e";
const ARTIFACTS = path.join(FRONTEND, "e2e", "artifacts");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function port(envName: string): Promise<number> {
  const fixed = process.env[envName];
  return fixed ? Number(fixed) : freePort();
}

async function waitFor(url: string, what: string, proc: ChildProcess, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      throw new Error(`${what} exited with ${proc.exitCode} before it answered; see ${logFile}:\n${tail(logFile)}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status < 500) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs} ms (${last}); see ${logFile}:\n${tail(logFile)}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-25).join("\n");
  } catch {
    return "(no log)";
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, what: string): void {
  const result = spawnSync(cmd, args, { env, cwd, encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`${what} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const started = Date.now();
  if (!existsSync(ROUTERX)) {
    throw new Error(`${ROUTERX} is missing: run \`make install-backend\` at the repository root first.`);
  }
  const chromium = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  if (!existsSync(chromium)) throw new Error(`Chromium not found at ${chromium} (apt-get install chromium).`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const work = mkdtempSync(path.join(tmpdir(), "routerx-e2e-"));
  const [gatewayPort, adminPort, consolePort] = [await port("E2E_GATEWAY_PORT"), await port("E2E_ADMIN_PORT"), await port("E2E_CONSOLE_PORT")];
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const backendEnv: NodeJS.ProcessEnv = {
    NODE_ENV: "production",
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: "C.UTF-8",
    ROUTERX_ENV: "development",
    DATABASE_URL: `sqlite://${path.join(work, "routerx.sqlite3")}`,
    REDIS_URL: "",
    JWT_SECRET: "e2e-only-secret-not-for-production-use-0123456789",
    ROUTERX_INTERNAL_TOKEN: "e2e-only-internal-token-not-for-production-0123456789",
    ENABLE_REAL_CALLS: "false",
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_WORKERS: "1",
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: String(adminPort),
    GATEWAY_INTERNAL_URL: `http://127.0.0.1:${gatewayPort}`,
    CONFIG_POLL_INTERVAL_S: "0.5",
    REQUEST_LOG_FLUSH_INTERVAL_S: "0.2",
    UPSTREAM_TIMEOUT_S: "10",
    LOG_LEVEL: "WARNING",
  };
  const children: ChildProcess[] = [];
  const startProcess = (what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): { proc: ChildProcess; log: string } => {
    const log = path.join(work, `${what}.log`);
    const fd = openSync(log, "a");
    // Own process group, so that teardown ends the server and any child it forked.
    const proc = spawn(cmd, args, { env, cwd, detached: true, stdio: ["ignore", fd, fd] });
    children.push(proc);
    return { proc, log };
  };
  const teardown = async () => {
    for (const proc of children.reverse()) {
      if (proc.pid && proc.exitCode === null) {
        try {
          process.kill(-proc.pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
    }
    await Promise.all(
      children.map(
        (proc) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              try {
                if (proc.pid) process.kill(-proc.pid, "SIGKILL");
              } catch {
                // already gone
              }
              resolve();
            }, 5_000);
            proc.on("exit", () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    // Keep the servers' logs with the screenshots, then drop the database.
    const logs = path.join(ARTIFACTS, "logs");
    mkdirSync(logs, { recursive: true });
    for (const name of ["gateway", "admin", "console"]) {
      const file = path.join(work, `${name}.log`);
      if (existsSync(file)) writeFileSync(path.join(logs, `${name}.log`), readFileSync(file));
    }
    if (!process.env.E2E_KEEP_WORK) rmSync(work, { recursive: true, force: true });
  };

  try {
    run(ROUTERX, ["migrate"], backendEnv, work, "routerx migrate");
    run(ROUTERX, ["seed"], backendEnv, work, "routerx seed");
    const gateway = startProcess("gateway", ROUTERX, ["gateway"], backendEnv, work);
    const admin = startProcess("admin", ROUTERX, ["admin"], backendEnv, work);

    const consoleEnv: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NEXT_DIST_DIR: DIST_DIR, ADMIN_API_URL: adminUrl, NODE_ENV: "production" };
    const manifest = path.join(FRONTEND, DIST_DIR, "routes-manifest.json");
    const reusable = process.env.E2E_SKIP_BUILD === "1" && existsSync(manifest) && readFileSync(manifest, "utf8").includes(adminUrl);
    if (!reusable) {
      const buildStarted = Date.now();
      run(process.execPath, [path.join(FRONTEND, "node_modules", "next", "dist", "bin", "next"), "build"], consoleEnv, FRONTEND, "next build");
      console.log(`[e2e] console built in ${((Date.now() - buildStarted) / 1000).toFixed(1)} s`);
    }
    const web = startProcess("console", process.execPath, [path.join(FRONTEND, "server.mjs")], { ...consoleEnv, CONSOLE_HOST: "127.0.0.1", CONSOLE_PORT: String(consolePort) }, FRONTEND);

    await waitFor(`http://127.0.0.1:${gatewayPort}/healthz`, "the gateway", gateway.proc, gateway.log);
    await waitFor(`${adminUrl}/healthz`, "the admin API", admin.proc, admin.log);
    await waitFor(`http://127.0.0.1:${consolePort}/login`, "the console", web.proc, web.log);

    process.env.E2E_BASE_URL = `http://127.0.0.1:${consolePort}`;
    process.env.E2E_GATEWAY_URL = `http://127.0.0.1:${gatewayPort}`;
    process.env.E2E_DATABASE_URL = backendEnv.DATABASE_URL;
    process.env.E2E_ADMIN_URL = adminUrl;
    process.env.E2E_WORK_DIR = work;
    writeFileSync(path.join(ARTIFACTS, "stack.json"), JSON.stringify({ console: process.env.E2E_BASE_URL, gateway: process.env.E2E_GATEWAY_URL, admin: adminUrl, work }, null, 2));
    console.log(`[e2e] stack up in ${((Date.now() - started) / 1000).toFixed(1)} s: console ${process.env.E2E_BASE_URL}, admin ${adminUrl}, gateway ${process.env.E2E_GATEWAY_URL}`);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
