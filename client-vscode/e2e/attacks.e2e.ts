/** Attacks on the extension in real VS Code, as a hostile workspace and a demanding user
 * would try them: a folder not trusted (Restricted Mode) whose name has spaces and
 * non-ASCII letters, and which plants Python modules and a virtual environment of its
 * own; the server killed under the extension; the API key looked for in every file
 * VS Code and the server write. */

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverProcesses, status, waitIdle } from "./harness/agentls";
import { VENV_PYTHON } from "./harness/paths";
import { Session, until } from "./harness/session";
import { Workbench } from "./harness/workbench";

const FOLDER = "hostile wörk space ü";
const KEY = "sk-attack-e2e-0123456789abcdef";

/** A Python module that leaves a marker next to the workspace when it is imported. */
function marker(name: string, depth: number): string {
  return `import pathlib\npathlib.Path(__file__).resolve().parents[${depth}].joinpath(${JSON.stringify(name)}).write_text("ran")\n`;
}

const FILES: Record<string, string> = {
  "main.py": "def add(a, b):\n    return a + b\n",
  // `python -m agentls` with the workspace as its working directory and first on sys.path
  // would run these instead of the installed server and the standard library.
  "agentls/__init__.py": marker("pwned-agentls", 2),
  "agentls/__main__.py": `${marker("pwned-agentls", 2)}raise SystemExit(7)\n`,
  "json.py": marker("pwned-json", 1),
  // A virtual environment of the workspace's: a user setting naming
  // ${workspaceFolder}/.venv/bin/python (as the README suggests) would run it.
  ".venv/bin/python": `#!/bin/sh\necho ran > "$(dirname "$0")/../../../pwned-venv"\nexec ${VENV_PYTHON} "$@"\n`,
};

let session: Session;
let bench: Workbench;
let temp: string;

beforeAll(async () => {
  session = await Session.start({
    name: "attacks",
    folderName: FOLDER,
    files: FILES,
    executables: [".venv/bin/python"],
    trusted: false,
  });
  bench = new Workbench(session.page);
  temp = path.dirname(session.workspace);
});

afterAll(async () => {
  await session?.close();
});

function planted(): string[] {
  return ["pwned-agentls", "pwned-json", "pwned-venv"].filter((name) => fs.existsSync(path.join(temp, name)));
}

describe("a hostile folder in Restricted Mode", () => {
  it("starts the installed server, not the workspace's agentls package or json module", async () => {
    await until("the server started or failed", 40_000, async () => /hubot|error/.test((await status(bench)).icon));
    expect(planted()).toEqual([]);
    await waitIdle(bench);
    expect(await session.probe<{ trusted: boolean }>("state")).toMatchObject({ trusted: false });
    expect(serverProcesses(session.workspace).length).toBe(1);
  });
});

describe("the interpreter", () => {
  it("a user setting naming the workspace's own .venv is not run in Restricted Mode", async () => {
    await session.probe("configure", { key: "interpreter", value: ["${workspaceFolder}/.venv/bin/python"] });
    await bench.notification(/does not run a Python from the workspace/).waitFor({ state: "visible", timeout: 20_000 });
    expect(planted()).toEqual([]);
    expect((await status(bench)).icon).toBe("error");
  });

  it("a missing Python says so, and a good one brings the server back", async () => {
    await session.probe("configure", { key: "interpreter", value: ["/nonexistent/python3"] });
    await bench.notification(/Could not run the Python interpreter "\/nonexistent\/python3"/).waitFor({ state: "visible", timeout: 20_000 });
    expect((await status(bench)).icon).toBe("error");
    await session.probe("configure", { key: "interpreter", value: [VENV_PYTHON] });
    await waitIdle(bench);
    await bench.clearNotifications();
  });
});

describe("the server", () => {
  it("killed, it comes back", async () => {
    const [before] = serverProcesses(session.workspace);
    expect(before).toBeDefined();
    process.kill(before!.pid, "SIGKILL");
    // vscode-languageclient starts it again; the status bar must not stay "stopped"
    await until("a new server", 20_000, () => serverProcesses(session.workspace).some((p) => p.pid !== before!.pid));
    await waitIdle(bench, 20_000);
    await bench.clearNotifications();
  });
});

describe("the API key", () => {
  it("reaches the model and is written to no file", async () => {
    await bench.runCommand("Agent: Set API Key");
    // the key is typed into a password box
    const input = session.page.locator(".quick-input-widget input[type=password]");
    await input.waitFor({ state: "visible" });
    await bench.answerInput(KEY);
    await new Promise((r) => setTimeout(r, 3000));
    await waitIdle(bench);
    await session.model.enqueue({ text: "It adds two numbers." });
    await bench.runCommand("Agent: Ask…");
    await bench.answerInput("what does add do?");
    await until("the model's request", 20_000, async () => (await session.model.requests()).length > 0);
    const [request] = await session.model.requests();
    expect(request!.authorization).toBe(`Bearer ${KEY}`);
    const leaks: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          walk(file);
        } else if (entry.isFile() && fs.readFileSync(file).includes(KEY)) {
          leaks.push(path.relative(temp, file));
        }
      }
    };
    walk(temp);
    expect(leaks).toEqual([]);
  });
});
