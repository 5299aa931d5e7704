/** Every `agentls.run` passes here: the client's own commands and the server's code
 * actions (through the executeCommand middleware). A run without an instruction (the
 * "Agent: edit selection…" code action) asks for one first. The last task id is kept
 * for "Undo last task"; the status bar follows each run. */

import type { FeatureState, StaticFeature } from "vscode-languageclient";
import type { ClientCapabilities } from "vscode-languageserver-protocol";
import { SERVER_COMMANDS } from "./constants";
import { type RunArgs, type RunResult, isRunResult, runArgsFrom } from "./commands";
import type { TaskStatus } from "./status";

export interface TaskUi {
  /** The instruction for a run that came without one; undefined when the user gave up. */
  askInstruction(args: RunArgs): PromiseLike<string | undefined>;
  showResult(args: RunArgs, result: RunResult): void;
  showOutcome(command: string, result: unknown): void;
}

export const INSTRUCTION_PROMPT_CAPABILITY = "agentlsInstructionPrompt";

/** Tells the server (experimental capability `agentlsInstructionPrompt`) that this client
 * asks for the instruction of a run that comes without one: it offers "Agent: edit
 * selection…" only then (server/agentls/lsp/code_actions.py). */
export class InstructionPromptFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.experimental = { ...(capabilities.experimental as object | undefined), [INSTRUCTION_PROMPT_CAPABILITY]: true };
  }

  initialize(): void {}

  getState(): FeatureState {
    return { kind: "static" };
  }

  clear(): void {}
}

export type Next = (command: string, args: unknown[]) => PromiseLike<unknown>;

/** Told when an `ask` run starts and ends (messages.ts: its answer is shown once). */
export interface AskWatcher {
  askStarted(): void;
  askEnded(answer: string | undefined): void;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** vscode-jsonrpc's words for a request whose server went away (it crashed, was killed or
 * restarted) while the request was open. */
const CONNECTION_GONE = /connection got disposed|connection is closed|connection is disposed/i;

/** What to tell the user about a task whose request failed. */
export function taskFailure(error: unknown): Error {
  const message = errorMessage(error);
  if (!CONNECTION_GONE.test(message)) {
    return error instanceof Error ? error : new Error(message);
  }
  return new Error(
    "the server stopped during the task (see the log); what it had written stays in the editor, " +
      "where Undo (Ctrl+Z) takes it back: Agent: Undo last task cannot, the new server does not know the task",
  );
}

export class Tasks {
  lastTaskId: string | undefined;

  constructor(
    private readonly status: TaskStatus,
    private readonly ui: TaskUi,
    private readonly asks?: AskWatcher,
  ) {}

  /** vscode-languageclient's `middleware.executeCommand`. */
  readonly executeCommand = async (command: string, args: unknown[], next: Next): Promise<unknown> => {
    if (command === SERVER_COMMANDS.run) {
      return this.run(runArgsFrom(args), (full) => next(command, [full]));
    }
    const result = await next(command, args);
    if (command === SERVER_COMMANDS.undo || command === SERVER_COMMANDS.accept) {
      this.ui.showOutcome(command, result);
    }
    return result;
  };

  async run(args: RunArgs, send: (args: RunArgs) => PromiseLike<unknown>): Promise<RunResult | undefined> {
    let instruction = args.instruction?.trim();
    if (!instruction) {
      instruction = (await this.ui.askInstruction(args))?.trim();
      if (!instruction) {
        return undefined;
      }
    }
    const full: RunArgs = { ...args, instruction };
    const asking = full.mode === "ask";
    this.status.requestStarted();
    if (asking) {
      this.asks?.askStarted();
    }
    let result: unknown;
    try {
      result = await send(full);
    } catch (error) {
      const failure = taskFailure(error);
      this.status.requestEnded(undefined, failure.message);
      throw failure;
    } finally {
      if (asking) {
        this.asks?.askEnded(isRunResult(result) && result.status === "done" ? result.summary : undefined);
      }
    }
    if (!isRunResult(result)) {
      this.status.requestEnded(undefined, `unexpected answer to ${SERVER_COMMANDS.run}: ${JSON.stringify(result)}`);
      return undefined;
    }
    this.lastTaskId = result.taskId;
    this.status.requestEnded(result);
    this.ui.showResult(full, result);
    return result;
  }
}
