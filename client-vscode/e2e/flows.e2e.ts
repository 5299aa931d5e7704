/** The packaged extension in real VS Code (code-server's web workbench, its Node extension
 * host), against the real agentls server and the scripted model: what a user does and sees. */

import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { serverProcesses, status, statusText, waitIdle, waitText } from "./harness/agentls";
import { promptText } from "./harness/model";
import * as path from "node:path";
import { OUT, VENV_PYTHON } from "./harness/paths";
import { ENV_API_KEY, Session, until } from "./harness/session";
import { Workbench } from "./harness/workbench";

const SOURCE = `import math


def area(r):
    # agent: use math.pi and add a docstring
    return 3.14 * r * r


def sub(a, b):
    result = a - b
    return result


def mul(a, b):
    return a * b
`;
const OLD_AREA = "def area(r):\n    # agent: use math.pi and add a docstring\n    return 3.14 * r * r\n";
const NEW_AREA =
  'def area(r):\n    """Area of a circle of radius r."""\n    if r < 0:\n        raise ValueError("r must not be negative")\n    return math.pi * r * r\n';

let session: Session;
let bench: Workbench;

beforeAll(async () => {
  session = await Session.start({ name: "flows", files: { "calc.py": SOURCE, "notes.py": "x = 1\n" } });
  bench = new Workbench(session.page);
});

afterEach(async (context) => {
  if (context.task.result?.state === "fail") {
    await bench?.screenshot(`failed-${context.task.name.replace(/\W+/g, "-")}`, path.join(OUT, "screenshots"));
  }
});

afterAll(async () => {
  await session?.close();
});

describe("agentls in VS Code", () => {
  test("activates and starts the server from the configured interpreter", async () => {
    await session.probe("open", { path: "calc.py" });
    await waitIdle(bench, 60_000);
    const state = await session.probe<{ active: boolean; uiKind: string }>("state");
    expect(state).toMatchObject({ active: true, uiKind: "web" });
    const servers = serverProcesses(session.workspace);
    expect(servers).toHaveLength(1);
    expect(servers[0]?.argv.slice(0, 3)).toEqual([VENV_PYTHON, "-m", "agentls"]);
  });

  test("the lightbulb on an '# agent:' line streams a rewrite while the user types", async () => {
    await session.model.clear();
    await session.model.enqueue({
      text: "```python\n" + NEW_AREA + "```\n",
      chunk: "line",
      tokensPerSecond: 1,
      firstByteDelay: 3,
    });
    await session.probe("select", { path: "calc.py", line: 4, character: 6 });
    const menu = await bench.openLightbulb("Agent: use math.pi");
    await bench.screenshot("lightbulb");
    await bench.pickAction(menu, "Agent: use math.pi");
    // Before the first edit: the model has not answered yet.
    await until("the model's request", 10_000, async () => (await session.model.requests()).length === 1);
    await session.page.keyboard.press("Control+Home");
    await session.page.keyboard.type("# typed before the first edit\n");
    // The typing reached the document before any edit (the model is still silent).
    await waitText(session, "calc.py", "# typed before the first edit\n" + SOURCE, 2_500);
    // During the stream: once the first new line is in, type at the end of the file.
    await until("the first streamed line", 10_000, async () =>
      (await session.probe<string>("text", { path: "calc.py" })).includes('"""Area of a circle'),
    );
    await session.page.keyboard.press("Control+End");
    await session.page.keyboard.type("# typed during the stream");
    await bench.screenshot("streaming");
    const during = await until("the typing in the document", 5_000, async () => {
      const now = await text("calc.py");
      return now.endsWith("# typed during the stream") ? now : undefined;
    });
    expect(during).not.toContain("math.pi * r * r"); // typed while the stream went on
    const expected = "# typed before the first edit\n" + SOURCE.replace(OLD_AREA, NEW_AREA) + "# typed during the stream";
    await waitText(session, "calc.py", expected);
    await waitIdle(bench);
    const [request] = await session.model.requests();
    expect(request?.authorization).toBe(`Bearer ${ENV_API_KEY}`);
    expect(promptText(request!)).toContain("use math.pi and add a docstring");
  });

  test("Agent: Undo last task reverts the rewrite and keeps the user's typing", async () => {
    await bench.runCommand("Agent: Undo last task");
    await waitText(session, "calc.py", "# typed before the first edit\n" + SOURCE + "# typed during the stream");
    expect(await statusText(bench)).toBe("agentls");
  });
});

async function text(file: string): Promise<string> {
  return session.probe<string>("text", { path: file });
}

function lineOf(source: string, needle: string): number {
  const index = source.split("\n").findIndex((line) => line.includes(needle));
  if (index < 0) {
    throw new Error(`no line with ${needle}`);
  }
  return index;
}

describe("code actions and streamed edits", () => {
  test("a diagnostic's lightbulb offers 'Fix with agent' and the fix streams in", async () => {
    const before = await text("calc.py");
    const line = lineOf(before, "result = a - b");
    await session.probe("setDiagnostics", { path: "calc.py", items: [{ line, message: "E501 result may overflow" }] });
    await session.model.clear();
    await session.model.enqueue({ text: "```python\ndef sub(a, b):\n    return a - b\n```\n", chunk: "line", tokensPerSecond: 20 });
    await session.probe("select", { path: "calc.py", line, character: 8 });
    const menu = await bench.openLightbulb("Fix with agent");
    expect(await bench.actionTitles(menu)).toContain("Fix with agent: E501 result may overflow");
    await bench.pickAction(menu, "Fix with agent: E501");
    const old = "def sub(a, b):\n    result = a - b\n    return result\n";
    await waitText(session, "calc.py", before.replace(old, "def sub(a, b):\n    return a - b\n"));
    const [request] = await session.model.requests();
    expect(promptText(request!)).toContain("E501 result may overflow");
    await session.probe("setDiagnostics", { path: "calc.py", items: [] });
    await waitIdle(bench);
  });

  test("'Agent: edit selection…' on a selection asks for the instruction, then rewrites the selection", async () => {
    const before = await text("calc.py");
    const line = lineOf(before, "def mul");
    await session.model.clear();
    await session.model.enqueue({ text: "```python\ndef mul(a, b):\n    return float(a * b)\n```\n", chunk: "line", tokensPerSecond: 20 });
    await session.probe("select", { path: "calc.py", line, character: 0, endLine: line + 2, endCharacter: 0 });
    const menu = await bench.openLightbulb("Agent: edit selection");
    await bench.pickAction(menu, "Agent: edit selection");
    await bench.answerInput("return a float", "instruction");
    await waitText(session, "calc.py", before.replace("    return a * b\n", "    return float(a * b)\n"));
    const [request] = await session.model.requests();
    expect(promptText(request!)).toContain("return a float");
    await waitIdle(bench);
  });

  test("progress shows in a notification and the status bar; its Cancel stops the task and reverts", async () => {
    const before = await text("calc.py");
    const line = lineOf(before, "def area");
    await session.model.clear();
    const slow = 'def area(r):\n    """Area."""\n    # one\n    # two\n    # three\n    # four\n    return math.pi * r * r\n';
    await session.model.enqueue({ text: "```python\n" + slow + "```\n", chunk: "line", tokensPerSecond: 1 });
    await session.probe("select", { path: "calc.py", line: line + 1, character: 4 });
    await bench.runCommand("Agent: Edit selection…");
    await bench.answerInput("slowly document area");
    const progress = bench.notification(/agentls: slowly document area/);
    await progress.waitFor({ state: "visible" });
    await until("a streamed line", 15_000, async () => (await text("calc.py")).includes('"""Area."""'));
    const running = await status(bench);
    expect(running.icon).toBe("sync");
    expect(running.text).toMatch(/^agentls: .* tok$/);
    await bench.screenshot("progress");
    await bench.screenshotBottom("status-bar");
    await bench.clickNotificationButton(/agentls: slowly document area/, "Cancel");
    await waitText(session, "calc.py", before);
    await bench.notification(/Cancelled/).first().waitFor({ state: "visible" });
    await waitIdle(bench);
  });
});

describe("the full agent", () => {
  test("asks before an edit; the approval shows the diff in a dialog and is answered there", async () => {
    await session.model.clear();
    await session.model.enqueue(
      { tools: [["edit_file", { path: "notes.py", old_string: "x = 1", new_string: "x = 2" }]] },
      { tools: [["finish", { summary: "x is 2 now" }]] },
    );
    await session.probe("select", { path: "calc.py", line: 0, character: 0 });
    await bench.runCommand("Agent: Run task…");
    await bench.answerInput("set x to 2 in notes.py");
    const ask = /wants to/;
    await bench.dialog(ask).waitFor({ state: "visible", timeout: 20_000 });
    await session.page.waitForTimeout(800); // the dialog's fade-in
    await bench.screenshot("approval");
    // the diff below the question, line by line (a notification would join the lines)
    expect(await bench.dialog(ask).locator(".dialog-message-detail").innerText()).toContain("-x = 1\n+x = 2");
    expect(await text("notes.py")).toBe("x = 1\n");
    await bench.clickDialogButton(ask, "Allow once");
    await waitText(session, "notes.py", "x = 2\n");
    await waitIdle(bench);
    expect(await session.model.requests()).toHaveLength(2);
  });

  test("'Agent: Set API Key' stores the key; the restarted server sends it to the model", async () => {
    const [old] = serverProcesses(session.workspace);
    await bench.runCommand("Agent: Set API Key");
    await bench.answerInput("sk-e2e-stored-key");
    await until("a new server process", 30_000, () => {
      const now = serverProcesses(session.workspace);
      return now.length === 1 && now[0]?.pid !== old?.pid;
    });
    await waitIdle(bench);
  });

  test("ask mode: get_diagnostics sees another extension's diagnostics; the answer shows once", async () => {
    await session.probe("setDiagnostics", { path: "notes.py", items: [{ line: 0, message: "E777 planted by another extension" }] });
    try {
      await session.model.clear();
      const answer = "notes.py has one problem, E777 on line 1.";
      await session.model.enqueue({ tools: [["get_diagnostics", {}]] }, { text: answer });
      await bench.runCommand("Agent: Ask…");
      await bench.answerInput("what problems are there?");
      const withAnswer = async () =>
        (await session.probe<{ uri: string; text: string }[]>("documents")).filter((d) => d.text.includes(answer));
      await until("the answer in a document", 20_000, async () => (await withAnswer()).length > 0);
      await waitIdle(bench);
      await session.page.waitForTimeout(1000); // a second showing would be here by now
      await bench.screenshot("answer");
      expect(await withAnswer()).toHaveLength(1);
      expect(await bench.notification(answer).count()).toBe(0);
      const requests = await session.model.requests();
      expect(requests).toHaveLength(2);
      expect(requests.every((r) => r.authorization === "Bearer sk-e2e-stored-key")).toBe(true);
      const tool = requests[1]!.body.messages.filter((m) => m.role === "tool").map((m) => String(m.content));
      expect(tool.join("\n")).toContain("notes.py:1:1: error (e2e-lint): E777 planted by another extension");
    } finally {
      await session.probe("setDiagnostics", { path: "notes.py", items: [] });
      await bench.runCommand("View: Revert and Close Editor"); // the answer (unsaved, active)
    }
  });

  test("plan mode: the plan opens beside its buttons; Approve carries it out, Reject does nothing", async () => {
    await session.probe("open", { path: "notes.py" });
    const before = await text("notes.py");
    await session.model.clear();
    await session.model.enqueue(
      { text: "1. Set x to 3 in notes.py." },
      { tools: [["edit_file", { path: "notes.py", old_string: "x = 2", new_string: "x = 3" }]] },
      { tools: [["finish", { summary: "x is 3" }]] },
    );
    await bench.runCommand("Agent: Plan…");
    await bench.answerInput("set x to 3");
    const question = /carry out this plan/;
    await bench.notification(question).waitFor({ state: "visible", timeout: 20_000 });
    await session.page.waitForTimeout(800); // the toast's slide-in
    await bench.screenshot("plan");
    await bench.clickNotificationButton(question, "Approve plan");
    await bench.clickDialogButton(/wants to/, "Allow once");
    await waitText(session, "notes.py", before.replace("x = 2", "x = 3"));
    await waitIdle(bench);

    await session.model.clear();
    await session.model.enqueue({ text: "1. Delete notes.py." });
    await bench.runCommand("Agent: Plan…");
    await bench.answerInput("remove notes");
    await bench.clickNotificationButton(question, "Reject");
    await bench.notification(/Plan not approved/).first().waitFor({ state: "visible" });
    await waitIdle(bench);
    expect(await session.model.requests()).toHaveLength(1);
    expect(await text("notes.py")).toBe(before.replace("x = 2", "x = 3"));
  });
});
