/** The extension against the real server: `activate()` (src/extension.ts) starts the real
 * vscode-languageclient, which runs `../.venv/bin/python -m agentls` on stdio; the editor
 * is the vscode stub, the model a scripted OpenAI-compatible server on 127.0.0.1. One
 * session, in order: the handshake, `workspace/configuration` answered by the middleware,
 * a settings change without a restart, the commands through the client's
 * executeCommand feature, the API key from SecretStorage (a restart), a full
 * `agentls.run` with its `$/progress`, one cancelled from the progress, and the stop. */

import type * as childProcess from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type * as Extension from "../src/extension";
import { hookVscode } from "./activate";
import { ScriptedModelServer } from "./model-server";
import * as stub from "./vscode-stub";

const PYTHON = fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));
const KEY = "sk-integration-test-key";
const SLOW = 20_000;

/** Waits for `check` to hold (polling), else fails with `what`. */
async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      const tail = stub.recorded.outputLines.join("\n").slice(-4000);
      throw new Error(`timed out waiting for ${what}; the end of the output channel:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function exited(child: childProcess.ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode);
  }
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** A Python file of about 1000 tokens: more than a small context budget holds. */
function pythonFile(): string {
  const functions = Array.from(
    { length: 24 },
    (_, i) => `def helper_${i}(value: int) -> int:\n    """Return value plus ${i}, for the test."""\n    total = value + ${i}\n    return total * 2\n`,
  );
  return `${functions.join("\n\n")}\n`;
}

describe.runIf(process.platform !== "win32")("the extension against the real agentls server", () => {
  const model = new ScriptedModelServer();
  const spawned: childProcess.ChildProcess[] = [];
  const subscriptions: Array<{ dispose(): unknown }> = [];
  let extension: typeof Extension;
  let unhook: () => void = () => undefined;
  let root = "";
  let fileUri = "";
  const savedEnv = { ...process.env };

  const serverProcesses = () => spawned.filter((child) => child.spawnargs.includes("agentls"));
  const statusItem = () => stub.recorded.statusItems[0];
  /** What the client's trace (verbose) shows of the messages whose entry starts with `start`. */
  const traced = (start: string, label: "Params" | "Result") =>
    stub.recorded.outputLines
      .filter((entry) => entry.startsWith(start))
      .map((entry) => JSON.parse(entry.slice(entry.indexOf(`${label}: `) + label.length + 2)) as unknown);
  /** The client's answers to workspace/configuration. */
  const configurationAnswers = () => traced("Sending response 'workspace/configuration", "Result") as unknown[][];

  beforeAll(async () => {
    if (!existsSync(PYTHON)) {
      // ./dev test creates .venv before it runs these tests; outside it, say what is missing.
      expect.fail(`${PYTHON} is missing: run ./dev test (or ./dev serve) once to create it`);
    }
    await model.start();
    root = mkdtempSync(path.join(tmpdir(), "agentls-integration-"));
    mkdirSync(path.join(root, "ws", "app"), { recursive: true });
    writeFileSync(path.join(root, "ws", "app", "helpers.py"), pythonFile());
    fileUri = stub.Uri.file(path.join(root, "ws", "app", "helpers.py")).toString();

    // The server process inherits this environment (serverExecutable copies it).
    process.env.AGENTLS_CACHE_DIR = path.join(root, "cache");
    delete process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_BASE_URL;

    // vscode-languageclient spawns the server with child_process.spawn: keep the children.
    const cjs = createRequire(import.meta.url)("node:child_process") as typeof childProcess;
    const spawn = cjs.spawn;
    vi.spyOn(cjs, "spawn").mockImplementation((...args: Parameters<typeof spawn>) => {
      const child = spawn(...args);
      spawned.push(child);
      return child;
    });

    stub.reset();
    stub.folders.push({ uri: stub.Uri.file(path.join(root, "ws")), name: "ws", index: 0 });
    stub.settings.user.set("agentls.interpreter", [PYTHON]);
    stub.settings.user.set("agentls.trace.server", "verbose");
    stub.settings.user.set("agentls.model.baseUrl", model.baseUrl);
    stub.settings.user.set("agentls.model.name", "scripted-model");
    stub.settings.user.set("agentls.model.maxRetries", 0);
    stub.settings.user.set("agentls.model.timeout", 10);
    stub.settings.user.set("agentls.context.maxTokens", 300);
    stub.outputLogLevel.value = stub.LogLevel.Trace; // vscode-languageclient traces only at Trace

    unhook = hookVscode();
    extension = await import("../src/extension");
    await extension.activate({ subscriptions, secrets: stub.secrets } as never);
  }, SLOW);

  afterAll(async () => {
    for (const subscription of subscriptions) subscription.dispose();
    await extension?.deactivate();
    for (const child of serverProcesses()) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    unhook();
    vi.restoreAllMocks();
    process.env = savedEnv;
    await model.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("completes the initialize handshake: the server's commands are registered, the status bar says running", async () => {
    await until("the server's commands", () => stub.recorded.commands.has("agentls.status"));
    expect(serverProcesses()).toHaveLength(1);
    expect(serverProcesses()[0]?.spawnargs).toEqual([PYTHON, "-m", "agentls"]);
    for (const command of ["agentls.run", "agentls.cancel", "agentls.accept", "agentls.undo", "agentls.context", "agentls.status"]) {
      expect(stub.recorded.commands.has(command), command).toBe(true);
    }
    await until("the status bar to say running", () => String(statusItem()?.tooltip).includes("idle"));
    expect(statusItem()?.text).toBe("$(hubot) agentls");
    const [sent] = traced("Sending request 'initialize", "Params") as Array<Record<string, unknown>>;
    expect(sent?.initializationOptions).toEqual({
      model: { baseUrl: model.baseUrl, name: "scripted-model", maxRetries: 0, timeout: 10 },
      context: { maxTokens: 300 },
    });
    expect(sent?.capabilities).toMatchObject({
      window: { workDoneProgress: true },
      workspace: { configuration: true },
      // the server offers "Agent: edit selection…" for agentlsInstructionPrompt (code_actions.py)
      experimental: { agentlsDiagnostics: true, agentlsInstructionPrompt: true },
    });
    const [answer] = traced("Received response 'initialize", "Result") as Array<Record<string, unknown>>;
    expect(answer?.serverInfo).toMatchObject({ name: "agentls" });
    expect(stub.recorded.outputLines.join("\n")).not.toContain("the LSP trace shows only at the log level Trace"); // it does
  }, SLOW);

  it("answers workspace/configuration through the middleware with the mirrored settings", async () => {
    await until("the server's workspace/configuration request", () => configurationAnswers().length > 0);
    const [tree] = configurationAnswers()[0] as Array<Record<string, Record<string, unknown>>>;
    expect(tree?.context).toEqual({ maxTokens: 300 });
    expect(tree?.model).toEqual({ baseUrl: model.baseUrl, name: "scripted-model", maxRetries: 0, timeout: 10 });
    expect(tree).not.toHaveProperty("interpreter");
    expect(tree).not.toHaveProperty("trace");
    // The server uses it: the context of a ~1000-token file fits in 300 tokens.
    const context = (await stub.commands.executeCommand("agentls.context", { uri: fileUri, position: { line: 1, character: 0 } })) as {
      totalTokens: number;
      snippets: unknown[];
    };
    expect(context.snippets.length).toBeGreaterThan(0);
    expect(context.totalTokens).toBeLessThanOrEqual(300);
  }, SLOW);

  it("sends a settings change with didChangeConfiguration; the server pulls it without a restart", async () => {
    stub.settings.user.set("agentls.context.maxTokens", 4000);
    stub.fireConfigurationChange(["agentls.context.maxTokens", "agentls.context", "agentls"]);
    // The server pulls on didChangeConfiguration: wait for its second answer.
    await until("a second workspace/configuration", () => configurationAnswers().length === 2);
    const context = (await stub.commands.executeCommand("agentls.context", { uri: fileUri, position: { line: 1, character: 0 } })) as {
      totalTokens: number;
    };
    expect(context.totalTokens).toBeGreaterThan(300);
    expect(context.totalTokens).toBeLessThanOrEqual(4000);
    expect(configurationAnswers()[1]).toEqual([expect.objectContaining({ context: { maxTokens: 4000 } })]);
    expect(serverProcesses()).toHaveLength(1);
  }, SLOW);

  it("runs agentls.status through the client's executeCommand feature", async () => {
    const status = await stub.commands.executeCommand("agentls.status", {});
    expect(status).toMatchObject({ running: [], recent: [], usage: { inputTokens: 0, outputTokens: 0 } });
  }, SLOW);

  it("stores the API key with Agent: Set API Key, restarts the server, and the new one has it", async () => {
    const first = serverProcesses()[0];
    expect(first).toBeDefined();
    stub.answers.inputBox.push(KEY);
    await stub.commands.executeCommand("agentls.client.setApiKey");
    expect(await stub.secrets.get("agentls.apiKey")).toBe(KEY);
    await until("a second server process", () => serverProcesses().length === 2);
    await exited(first as childProcess.ChildProcess);
    await until("the new server's commands", () => stub.recorded.commands.has("agentls.status") && String(statusItem()?.tooltip).includes("idle"));
    expect(serverProcesses()[1]?.exitCode).toBeNull();
  }, SLOW);

  it("runs a task in mode ask: the model gets the key, the result is done, the progress begins and ends", async () => {
    model.enqueue([{ name: "finish", arguments: { summary: "helper_3 adds 3 and doubles it." } }]);
    stub.recorded.progress.length = 0;
    stub.recorded.statusTexts.length = 0;
    stub.recorded.statusTooltips.length = 0;
    const result = await stub.commands.executeCommand("agentls.run", { instruction: "what does helper_3 do?", uri: fileUri, mode: "ask" });
    expect(result).toMatchObject({ status: "done", summary: "helper_3 adds 3 and doubles it.", editedFiles: [] });
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(model.requests[0]?.body.model).toBe("scripted-model");
    // $/progress: a cancellable notification for the task, begun and ended.
    const task = stub.recorded.progress.find((call) => call.options.location === stub.ProgressLocation.Notification);
    expect(task?.options.cancellable).toBe(true);
    expect(task?.options.title).toMatch(/^agentls/);
    await task?.done; // resolved by the progress end
    // The status bar followed the progress: its title while the task ran, idle after its end.
    const texts = stub.recorded.statusTexts;
    expect(texts.some((text) => text.startsWith("$(sync~spin) agentls: ")), texts.join(" | ")).toBe(true);
    expect(stub.recorded.statusTooltips.some((tooltip) => tooltip.startsWith(`${task?.options.title}\n`))).toBe(true);
    await until("the status bar to go idle", () => statusItem()?.text === "$(hubot) agentls");
    expect(String(statusItem()?.tooltip)).toContain("done: helper_3 adds 3 and doubles it.");
    // The answer of an ask opens as Markdown, once: the server's window/showMessage of it is kept back.
    await until("the answer's document", () => stub.recorded.documents.some((d) => String(d.content).includes("helper_3 adds 3")));
    expect(stub.recorded.documents.filter((d) => String(d.content).includes("helper_3 adds 3 and doubles it."))).toHaveLength(1);
    expect(stub.recorded.messages.filter((m) => m.text.includes("helper_3 adds 3"))).toEqual([]);
  }, SLOW);

  it("cancels a task from the progress notification's Cancel: window/workDoneProgress/cancel reaches the server", async () => {
    model.enqueue("hang");
    stub.recorded.progress.length = 0;
    const before = model.requests.length;
    const run = stub.commands.executeCommand("agentls.run", { instruction: "and helper_4?", uri: fileUri, mode: "ask" });
    await until("the model's request", () => model.requests.length === before + 1);
    const task = stub.recorded.progress.find((call) => call.options.location === stub.ProgressLocation.Notification);
    expect(task?.options.cancellable).toBe(true);
    task?.cancel();
    expect(await run).toMatchObject({ status: "cancelled", editedFiles: [] });
    await task?.done;
    await until("the model request to be dropped", () => model.requests[before]?.aborted === true);
    await until("the status bar to go idle", () => statusItem()?.text === "$(hubot) agentls");
    expect(traced("Sending notification 'window/workDoneProgress/cancel", "Params")).toHaveLength(1);
  }, SLOW);

  it("stops cleanly: deactivate stops the client, the server process exits", async () => {
    const running = serverProcesses()[1] as childProcess.ChildProcess;
    await extension.deactivate();
    expect(await exited(running)).toBe(0);
    expect(stub.recorded.commands.has("agentls.status")).toBe(false);
  }, SLOW);
});
