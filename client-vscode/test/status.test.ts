import { describe, expect, it } from "vitest";
import { parseReport, TaskStatus } from "../src/status";

describe("parseReport (the server's progress messages)", () => {
  it("splits step and tokens", () => {
    expect(parseReport("writing: 12 lines · 1200+340 tok")).toEqual({ step: "writing: 12 lines", inputTokens: 1200, outputTokens: 340 });
    expect(parseReport("waiting for the model · 0+0 tok")).toEqual({ step: "waiting for the model", inputTokens: 0, outputTokens: 0 });
  });

  it("reads the cost when the server adds it", () => {
    expect(parseReport("step 3: read_file · 5000+200 tok · $0.0123")).toEqual({
      step: "step 3: read_file",
      inputTokens: 5000,
      outputTokens: 200,
      costUsd: 0.0123,
    });
  });

  it("keeps any other message whole as the step", () => {
    expect(parseReport("starting")).toEqual({ step: "starting" });
    expect(parseReport("12/40 files")).toEqual({ step: "12/40 files" });
  });
});

describe("TaskStatus", () => {
  it("starts as starting, then idle once the server runs", () => {
    const status = new TaskStatus();
    expect(status.view().text).toContain("$(loading~spin)");
    status.serverRunning("/usr/bin/python3");
    expect(status.view()).toMatchObject({ text: "$(hubot) agentls", command: "agentls.client.showLog", error: false });
    expect(status.view().tooltip).toContain("/usr/bin/python3");
  });

  it("shows a task's step and tokens from its progress, click to cancel", () => {
    const status = new TaskStatus();
    status.serverRunning("py");
    status.progressBegin("tok-1", "agentls: add docstrings");
    expect(status.view()).toMatchObject({ text: "$(sync~spin) agentls: starting", command: "agentls.client.cancel" });
    status.progressReport("tok-1", "writing: 3 lines · 1000+50 tok · $0.0020");
    expect(status.view().text).toBe("$(sync~spin) agentls: writing: 3 lines · 1050 tok · $0.0020");
    expect(status.view().tooltip).toContain("agentls: add docstrings");
    status.progressEnd("tok-1");
    expect(status.view().command).toBe("agentls.client.showLog");
    expect(status.running).toBe(false);
  });

  it("counts parallel tasks and shortens a long step", () => {
    const status = new TaskStatus();
    status.serverRunning("py");
    status.progressBegin("a", "agentls: one");
    status.progressBegin("b", "agentls: two");
    status.progressReport("b", `${"x".repeat(80)} · 1+1 tok`);
    const text = status.view().text;
    expect(text).toContain("(2 tasks)");
    expect(text).toContain("…");
    expect(text.length).toBeLessThan(80);
  });

  it("ignores reports for unknown tokens", () => {
    const status = new TaskStatus();
    status.serverRunning("py");
    status.progressReport("nope", "writing · 1+1 tok");
    expect(status.running).toBe(false);
  });

  it("shows a stopped server as an error, whatever ran before", () => {
    const status = new TaskStatus();
    status.serverRunning("py");
    status.progressBegin("a", "agentls: one");
    status.serverStopped("agentls is not installed in /usr/bin/python3.");
    expect(status.view()).toMatchObject({ text: "$(error) agentls", error: true, command: "agentls.client.showLog" });
    expect(status.view().tooltip).toContain("not installed");
    expect(status.running).toBe(false);
  });
});
