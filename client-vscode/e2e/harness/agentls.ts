/** What the tests ask about agentls itself: its server process, its status bar item. */

import * as fs from "node:fs";
import type { Session } from "./session";
import { until } from "./session";
import type { Workbench } from "./workbench";

export interface ServerProcess {
  pid: number;
  argv: string[];
}

/** The `python -m agentls` processes whose working directory is this session's workspace. */
export function serverProcesses(workspace: string): ServerProcess[] {
  const found: ServerProcess[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      const at = argv.indexOf("-m");
      if (at < 0 || argv[at + 1] !== "agentls" || fs.readlinkSync(`/proc/${entry}/cwd`) !== workspace) {
        continue;
      }
      found.push({ pid: Number(entry), argv });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** The status bar item's icon (hubot: idle, loading: starting, sync: a task runs,
 * error) and its text. */
export async function status(bench: Workbench): Promise<{ icon: string; text: string }> {
  const item = bench.statusItem();
  const classes = (await item.locator(".codicon").first().getAttribute("class")) ?? "";
  const icon = /codicon-(hubot|loading|sync|error)/.exec(classes)?.[1] ?? classes;
  return { icon, text: ((await item.textContent()) ?? "").trim() };
}

export async function statusText(bench: Workbench): Promise<string> {
  return (await status(bench)).text;
}

/** Waits until the status bar item says the server is idle (the hubot icon, "agentls"). */
export async function waitIdle(bench: Workbench, timeoutMs = 30_000): Promise<void> {
  await until("agentls idle in the status bar", timeoutMs, async () => {
    const now = await status(bench);
    return now.icon === "hubot" && now.text === "agentls";
  });
}

/** Waits until the document's text is `expected`; the error shows the last text seen. */
export async function waitText(session: Session, file: string, expected: string, timeoutMs = 20_000): Promise<void> {
  let last = "";
  try {
    await until(`the text of ${file}`, timeoutMs, async () => {
      last = await session.probe<string>("text", { path: file });
      return last === expected;
    });
  } catch {
    throw new Error(`${file} is not as expected after ${timeoutMs} ms:\n--- got ---\n${last}\n--- wanted ---\n${expected}`);
  }
}
