/** The packaged extension in real VS Code (code-server's web workbench, its Node extension
 * host), against the real agentls server and the scripted model: what a user does and sees. */

import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { serverProcesses, statusText, waitIdle, waitText } from "./harness/agentls";
import { promptText } from "./harness/model";
import { VENV_PYTHON } from "./harness/paths";
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
const NEW_AREA = 'def area(r):\n    """Area of a circle of radius r."""\n    return math.pi * r * r\n';

let session: Session;
let bench: Workbench;

beforeAll(async () => {
  session = await Session.start({ name: "flows", files: { "calc.py": SOURCE, "notes.py": "x = 1\n" } });
  bench = new Workbench(session.page);
});

afterEach(async (context) => {
  if (context.task.result?.state === "fail") {
    await bench?.screenshot(`failed-${context.task.name.replace(/\W+/g, "-")}`);
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
      tokensPerSecond: 2,
      firstByteDelay: 1.5,
    });
    await session.probe("select", { path: "calc.py", line: 4, character: 6 });
    const menu = await bench.openLightbulb();
    await bench.screenshot("lightbulb");
    await bench.pickAction(menu, "Agent: use math.pi");
    // Before the first edit: the model has not answered yet.
    await until("the model's request", 10_000, async () => (await session.model.requests()).length === 1);
    await session.page.keyboard.press("Control+Home");
    await session.page.keyboard.type("# typed before the first edit\n");
    // During the stream: once the first new line is in, type at the end of the file.
    await until("the first streamed line", 10_000, async () =>
      (await session.probe<string>("text", { path: "calc.py" })).includes('"""Area of a circle'),
    );
    await session.page.keyboard.press("Control+End");
    await session.page.keyboard.type("# typed during the stream");
    await bench.screenshot("streaming");
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
