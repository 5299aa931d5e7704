import { beforeEach, describe, expect, it } from "vitest";
import { WorkDoneProgress, WorkDoneProgressCancelNotification, WorkDoneProgressCreateRequest } from "vscode-languageserver-protocol";
import { INDEXING_TITLE, isBuiltinProgressFeature, type ProgressClient, TaskProgressFeature } from "../src/progress";
import { TaskStatus } from "../src/status";
import { ProgressLocation, recorded, reset } from "./vscode-stub";

type Handler = Parameters<ProgressClient["onProgress"]>[2];

/** A language client that records what the feature registers and sends. */
function fakeClient() {
  const requests = new Map<string, (params: { token: string | number }) => void>();
  const progress = new Map<string | number, Handler>();
  const sent: Array<{ method: string; params: unknown }> = [];
  const client: ProgressClient = {
    onRequest(type, handler) {
      requests.set(type.method, handler);
      return { dispose: () => requests.delete(type.method) };
    },
    onProgress(type, token, handler) {
      expect(type).toBe(WorkDoneProgress.type);
      progress.set(token, handler);
      return { dispose: () => progress.delete(token) };
    },
    async sendNotification(type, params) {
      sent.push({ method: type.method, params });
    },
  };
  const create = (token: string) => requests.get(WorkDoneProgressCreateRequest.method)?.({ token });
  const emit = (token: string, value: Parameters<Handler>[0]) => progress.get(token)?.(value);
  return { client, requests, progress, sent, create, emit };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
}

describe("TaskProgressFeature", () => {
  beforeEach(reset);

  function setup() {
    const fake = fakeClient();
    const status = new TaskStatus();
    status.serverRunning("py");
    const feature = new TaskProgressFeature(fake.client, status);
    feature.initialize();
    return { ...fake, status, feature };
  }

  it("claims window.workDoneProgress and answers window/workDoneProgress/create", () => {
    const { feature, requests } = setup();
    const capabilities: { window?: { workDoneProgress?: boolean; showMessage?: object } } = { window: { showMessage: {} } };
    feature.fillClientCapabilities(capabilities);
    expect(capabilities.window).toEqual({ showMessage: {}, workDoneProgress: true });
    expect(requests.has("window/workDoneProgress/create")).toBe(true);
  });

  it("shows a task as a notification with Cancel, which sends window/workDoneProgress/cancel", async () => {
    const { create, emit, sent, status } = setup();
    create("agentls-abc");
    emit("agentls-abc", { kind: "begin", title: "agentls: add docstrings", cancellable: true, message: "starting" });
    await settle();
    expect(recorded.progress).toHaveLength(1);
    const shown = recorded.progress[0];
    expect(shown?.options).toEqual({ location: ProgressLocation.Notification, title: "agentls: add docstrings", cancellable: true });
    emit("agentls-abc", { kind: "report", message: "writing: 4 lines · 900+30 tok", cancellable: true });
    expect(shown?.reports).toEqual([{ message: "starting" }, { message: "writing: 4 lines · 900+30 tok" }]);
    expect(status.view().text).toBe("$(sync~spin) agentls: writing: 4 lines · 930 tok");

    shown?.cancel();
    expect(sent).toEqual([{ method: WorkDoneProgressCancelNotification.method, params: { token: "agentls-abc" } }]);

    emit("agentls-abc", { kind: "end", message: "cancelled" });
    await expect(shown?.done).resolves.toBeUndefined();
    expect(status.running).toBe(false);
  });

  it("keeps the indexing progress a quiet window progress, out of the task status", async () => {
    const { create, emit, status } = setup();
    create("agentls-idx");
    emit("agentls-idx", { kind: "begin", title: INDEXING_TITLE, cancellable: true, message: "starting" });
    emit("agentls-idx", { kind: "report", message: "10/200 files" });
    await settle();
    expect(recorded.progress[0]?.options.location).toBe(ProgressLocation.Window);
    expect(status.running).toBe(false);
    emit("agentls-idx", { kind: "end" });
    await expect(recorded.progress[0]?.done).resolves.toBeUndefined();
  });

  it("ends every open progress when the client stops (clear)", async () => {
    const { create, emit, feature, progress, status } = setup();
    create("t1");
    emit("t1", { kind: "begin", title: "agentls: one", cancellable: true });
    await settle();
    expect(status.running).toBe(true);
    feature.clear();
    await expect(recorded.progress[0]?.done).resolves.toBeUndefined();
    expect(progress.size).toBe(0);
    expect(status.running).toBe(false);
  });

  it("replaces vscode-languageclient's own progress feature, not itself", () => {
    const builtin = { getState: () => ({ kind: "window" as const, id: "window/workDoneProgress/create", registrations: false }) };
    const other = { getState: () => ({ kind: "window" as const, id: "window/showDocument", registrations: false }) };
    const { feature } = setup();
    expect(isBuiltinProgressFeature(builtin)).toBe(true);
    expect(isBuiltinProgressFeature(other)).toBe(false);
    expect(isBuiltinProgressFeature(feature)).toBe(false);
  });
});
