/** One VS Code window for a group of end-to-end tests: a workspace folder, code-server
 * with the packaged agentls.vsix installed, headless Chromium on its web workbench, the
 * probe extension inside the extension host, and the scripted model server. */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { type Browser, type Page, chromium } from "playwright-core";
import { Model } from "./model";
import { CHROMIUM, CLIENT, CODE_SERVER, OUT, VENV_PYTHON, VSIX } from "./paths";

export interface SessionOptions {
  /** Names the temporary folder and the log. */
  readonly name: string;
  /** The workspace folder's name (default "workspace"). */
  readonly folderName?: string;
  /** Workspace files, by relative path. */
  readonly files: Record<string, string>;
  /** Which of them are programs (mode 755). */
  readonly executables?: readonly string[];
  /** More user settings (over the defaults below). */
  readonly userSettings?: Record<string, unknown>;
  /** false: workspace trust on, and the folder is not trusted (Restricted Mode). */
  readonly trusted?: boolean;
  /** More environment for code-server (so for the extension host and the agentls server). */
  readonly env?: Record<string, string>;
}

/** The key the environment gives the server before "Set API Key" stores one. */
export const ENV_API_KEY = "e2e-key-from-the-environment";

function workbenchSettings(model: Model, trusted: boolean): Record<string, unknown> {
  return {
    "workbench.startupEditor": "none",
    "workbench.colorTheme": "Default Dark Modern",
    "workbench.tips.enabled": false,
    "workbench.welcomePage.walkthroughs.openOnInstall": false,
    "workbench.enableExperiments": false,
    "workbench.layoutControl.enabled": false,
    "telemetry.telemetryLevel": "off",
    "extensions.ignoreRecommendations": true,
    "update.showReleaseNotes": false,
    "git.enabled": false,
    "chat.commandCenter.enabled": false,
    "editor.minimap.enabled": false,
    "editor.fontSize": 15,
    "editor.lightbulb.enabled": "on",
    "files.autoSave": "off",
    "editor.acceptSuggestionOnEnter": "off",
    "editor.quickSuggestions": { "other": "off", "comments": "off", "strings": "off" },
    "editor.wordBasedSuggestions": "off",
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "window.commandCenter": false,
    "security.workspace.trust.enabled": !trusted,
    "security.workspace.trust.startupPrompt": "never",
    "security.workspace.trust.banner": "always",
    "agentls.interpreter": [VENV_PYTHON],
    "agentls.model.baseUrl": model.baseUrl,
    "agentls.model.name": "scripted-model",
    "agentls.serverArgs": ["-v"], // the server log (in the session log folder) for failures
  };
}

async function buildProbe(): Promise<string> {
  const dir = path.join(OUT, "probe");
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(CLIENT, "e2e", "probe", "package.json"), path.join(dir, "package.json"));
  await esbuild.build({
    entryPoints: [path.join(CLIENT, "e2e", "probe", "extension.ts")],
    bundle: true,
    outfile: path.join(dir, "extension.js"),
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode"],
    logLevel: "warning",
  });
  return dir;
}

function waitForLine(child: ChildProcess, pattern: RegExp, log: fs.WriteStream, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not print ${pattern} in ${timeoutMs} ms`)), timeoutMs);
    let seen = "";
    const listen = (chunk: Buffer) => {
      log.write(chunk);
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on("data", listen);
    child.stderr?.on("data", (chunk: Buffer) => log.write(chunk));
    child.once("exit", (code) => reject(new Error(`code-server exited with ${code}`)));
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) {
        return value;
      }
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { until };

export class Session {
  private constructor(
    readonly page: Page,
    readonly model: Model,
    readonly workspace: string,
    private readonly probePort: number,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    private readonly temp: string,
  ) {}

  static async start(options: SessionOptions): Promise<Session> {
    if (!fs.existsSync(CODE_SERVER)) {
      throw new Error(`code-server is not installed: run client-vscode/e2e/install.sh (${CODE_SERVER})`);
    }
    if (!fs.existsSync(VSIX)) {
      throw new Error(`${VSIX} is missing: run npm run package first`);
    }
    const trusted = options.trusted ?? true;
    const temp = fs.mkdtempSync(path.join(os.tmpdir(), `agentls-e2e-${options.name}-`));
    const workspace = path.join(temp, options.folderName ?? "workspace");
    for (const [name, text] of Object.entries(options.files)) {
      fs.mkdirSync(path.dirname(path.join(workspace, name)), { recursive: true });
      fs.writeFileSync(path.join(workspace, name), text);
    }
    for (const name of options.executables ?? []) {
      fs.chmodSync(path.join(workspace, name), 0o755);
    }
    const model = await Model.start();
    const userData = path.join(temp, "user-data");
    const extensions = path.join(temp, "extensions");
    fs.mkdirSync(path.join(userData, "User"), { recursive: true });
    fs.writeFileSync(
      path.join(userData, "User", "settings.json"),
      JSON.stringify({ ...workbenchSettings(model, trusted), ...options.userSettings }, null, 2),
    );
    const config = path.join(temp, "config.yaml");
    fs.writeFileSync(config, "auth: none\n");
    const base = ["--config", config, "--user-data-dir", userData, "--extensions-dir", extensions];
    const env = {
      ...process.env,
      ...options.env,
      OPENAI_API_KEY: ENV_API_KEY,
      AGENTLS_E2E_PROBE_FILE: path.join(temp, "probe-port"),
      XDG_DATA_HOME: path.join(temp, "data"), // code-server's heartbeat and logs
    };
    execFileSync(process.execPath, [CODE_SERVER, ...base, "--install-extension", VSIX], { stdio: "ignore", env });
    const probeDir = await buildProbe();
    const probeFile = env.AGENTLS_E2E_PROBE_FILE;
    fs.mkdirSync(OUT, { recursive: true });
    const log = fs.createWriteStream(path.join(OUT, `${options.name}.code-server.log`));
    const args = [
      CODE_SERVER,
      ...base,
      "--auth",
      "none",
      "--bind-addr",
      "127.0.0.1:0",
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-getting-started-override",
      ...(trusted ? ["--disable-workspace-trust"] : []),
    ];
    const server = spawn(process.execPath, args, {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: close() ends the extension host and agentls too
    });
    const [, port] = await waitForLine(server, /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/, log, 30_000);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu"],
      env: { ...process.env, XDG_CONFIG_HOME: path.join(temp, "config"), XDG_CACHE_HOME: path.join(temp, "cache") },
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    const payload = JSON.stringify([["extensionDevelopmentPath", `vscode-remote://remote${probeDir}`]]);
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`;
    await page.goto(url);
    const probePort = await until("the probe extension", 60_000, () =>
      fs.existsSync(probeFile) ? Number(fs.readFileSync(probeFile, "utf8")) || undefined : undefined,
    );
    return new Session(page, model, workspace, probePort, browser, server, temp);
  }

  /** Calls the probe extension (e2e/probe/extension.ts) inside the extension host. */
  async probe<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${this.probePort}/`, {
      method: "POST",
      body: JSON.stringify({ method, params }),
    });
    const body = (await response.json()) as { result?: T; error?: string };
    if (body.error !== undefined) {
      throw new Error(`probe ${method}: ${body.error}`);
    }
    return body.result as T;
  }

  file(name: string): string {
    return path.join(this.workspace, name);
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    this.model.stop();
    if (this.server.pid !== undefined) {
      try {
        process.kill(-this.server.pid, "SIGTERM");
      } catch {
        // gone already
      }
    }
    if (process.env["AGENTLS_E2E_KEEP"] === undefined) {
      fs.rmSync(this.temp, { recursive: true, force: true });
    }
  }
}
