/** A stub of the `vscode` module: the part of the API the extension uses, with state the
 * tests set (configuration, the active editor, answers to dialogs) and record (commands,
 * messages, progress). VS Code itself cannot run here. Reset with `reset()`. */

import * as path from "node:path";
import { vi } from "vitest";

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}

  static file(fsPath: string): Uri {
    return new Uri("file", fsPath.replace(/\\/g, "/"));
  }

  static from(parts: { scheme: string; path?: string }): Uri {
    return new Uri(parts.scheme, parts.path ?? "");
  }

  static parse(value: string): Uri {
    const match = /^([a-z][\w+.-]*):(?:\/\/[^/]*)?(.*)$/i.exec(value);
    if (match === null) {
      throw new Error(`not a URI: ${value}`);
    }
    return new Uri(match[1] ?? "file", decodeURIComponent(match[2] ?? ""));
  }

  get fsPath(): string {
    return this.path;
  }

  toString(): string {
    return this.scheme === "file" ? `file://${encodeURI(this.path)}` : `${this.scheme}:${this.path}`;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(start: Position, end: Position) {
    const before = start.line < end.line || (start.line === end.line && start.character <= end.character);
    this.start = before ? start : end;
    this.end = before ? end : start;
  }

  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

export class Selection extends Range {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    super(anchor, active);
  }
}

export class Disposable {
  constructor(private readonly callback: () => void = () => undefined) {}
  dispose(): void {
    this.callback();
  }
}

export class EventEmitter<T> {
  private listeners: Array<(value: T) => void> = [];
  readonly event = (listener: (value: T) => void): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      listener(value);
    }
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum LogLevel {
  Off = 0,
  Trace = 1,
  Debug = 2,
  Info = 3,
  Warning = 4,
  Error = 5,
}

export class CancellationError extends Error {}

export class CodeActionKind {
  private constructor(readonly value: string) {}
  static readonly Empty = new CodeActionKind("");
  static readonly QuickFix = new CodeActionKind("quickfix");
  static readonly Refactor = new CodeActionKind("refactor");
  static readonly RefactorExtract = new CodeActionKind("refactor.extract");
  static readonly RefactorInline = new CodeActionKind("refactor.inline");
  static readonly RefactorMove = new CodeActionKind("refactor.move");
  static readonly RefactorRewrite = new CodeActionKind("refactor.rewrite");
  static readonly Source = new CodeActionKind("source");
  static readonly SourceOrganizeImports = new CodeActionKind("source.organizeImports");
  static readonly SourceFixAll = new CodeActionKind("source.fixAll");
  static readonly Notebook = new CodeActionKind("notebook");
  append(part: string): CodeActionKind {
    return new CodeActionKind(this.value ? `${this.value}.${part}` : part);
  }
}

export const version = "1.93.0";

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  isCancellationRequested = false;
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };
  cancel(): void {
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
}

// ---- state the tests set ----

/** `agentls.*` values by level; the key is the full name, e.g. "agentls.model.name". */
export const settings = {
  defaults: new Map<string, unknown>(),
  user: new Map<string, unknown>(),
  workspace: new Map<string, unknown>(),
};

export interface ProgressCall {
  options: { location: ProgressLocation; title?: string; cancellable?: boolean };
  reports: Array<{ message?: string }>;
  cancel: () => void;
  done: Promise<unknown>;
}

export const recorded = {
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  executed: [] as Array<{ command: string; args: unknown[] }>,
  messages: [] as Array<{ level: "info" | "warning" | "error"; text: string; buttons: string[]; options?: object }>,
  statusMessages: [] as string[],
  progress: [] as ProgressCall[],
  documents: [] as Array<{ language?: string; content?: string }>,
  statusItems: [] as Array<Record<string, unknown>>,
  /** Every text a status bar item showed, in order. */
  statusTexts: [] as string[],
  statusTooltips: [] as string[],
  /** Every line written to an output channel. */
  outputLines: [] as string[],
};

/** The log level output channels report (vscode-languageclient traces only at Trace). */
export const outputLogLevel = { value: LogLevel.Info };

export const answers = {
  inputBox: [] as Array<string | undefined>,
  inputBoxOptions: [] as unknown[],
  quickPick: undefined as unknown,
  message: undefined as unknown,
};

export const folders: Array<{ uri: Uri; name: string; index: number }> = [];
export const extensionsInstalled = new Map<string, unknown>();

const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

/** Fires `workspace.onDidChangeConfiguration` for these (full) section names. */
export function fireConfigurationChange(sections: readonly string[]): void {
  configurationChanged.fire({ affectsConfiguration: (section) => sections.includes(section) });
}

const secretValues = new Map<string, string>();
const secretsChanged = new EventEmitter<{ key: string }>();

/** `ExtensionContext.secrets`. */
export const secrets = {
  get: async (key: string) => secretValues.get(key),
  store: async (key: string, value: string) => {
    secretValues.set(key, value);
    secretsChanged.fire({ key });
  },
  delete: async (key: string) => {
    secretValues.delete(key);
    secretsChanged.fire({ key });
  },
  onDidChange: secretsChanged.event,
};

export function reset(): void {
  settings.defaults.clear();
  settings.user.clear();
  settings.workspace.clear();
  recorded.commands.clear();
  recorded.executed.length = 0;
  recorded.messages.length = 0;
  recorded.statusMessages.length = 0;
  recorded.progress.length = 0;
  recorded.documents.length = 0;
  recorded.statusItems.length = 0;
  recorded.statusTexts.length = 0;
  recorded.statusTooltips.length = 0;
  recorded.outputLines.length = 0;
  outputLogLevel.value = LogLevel.Info;
  secretValues.clear();
  answers.inputBox.length = 0;
  answers.inputBoxOptions.length = 0;
  answers.quickPick = undefined;
  answers.message = undefined;
  folders.length = 0;
  extensionsInstalled.clear();
  window.activeTextEditor = undefined;
}

/** An event that never fires. */
function never(): Disposable {
  return new Disposable();
}

function configuration(section: string) {
  const full = (key: string) => (section ? `${section}.${key}` : key);
  return {
    get(key: string, fallback?: unknown): unknown {
      const name = full(key);
      for (const level of [settings.workspace, settings.user, settings.defaults]) {
        if (level.has(name)) {
          return level.get(name);
        }
      }
      return fallback;
    },
    inspect(key: string) {
      const name = full(key);
      return {
        key: name,
        defaultValue: settings.defaults.get(name),
        globalValue: settings.user.get(name),
        workspaceValue: settings.workspace.get(name),
        workspaceFolderValue: undefined,
      };
    },
    has(key: string): boolean {
      return this.get(key) !== undefined;
    },
  };
}

const contentProviders = new Map<string, { provideTextDocumentContent(uri: Uri): string }>();

export const workspace = {
  get workspaceFolders() {
    return folders.length ? folders : undefined;
  },
  getConfiguration: vi.fn((section: string = "", _scope?: unknown) => configuration(section)),
  getWorkspaceFolder(uri: Uri) {
    return folders.find((folder) => uri.path === folder.uri.path || uri.path.startsWith(`${folder.uri.path}/`));
  },
  asRelativePath(uri: Uri | string): string {
    const value = typeof uri === "string" ? uri : uri.path;
    const folder = folders.find((f) => value.startsWith(`${f.uri.path}/`));
    return folder ? path.posix.relative(folder.uri.path, value) : value;
  },
  onDidChangeConfiguration: configurationChanged.event,
  isTrusted: true,
  onDidGrantWorkspaceTrust: never,
  // What vscode-languageclient reads and listens to; no documents are ever open here.
  textDocuments: [] as unknown[],
  notebookDocuments: [] as unknown[],
  onDidOpenTextDocument: never,
  onDidChangeTextDocument: never,
  onDidCloseTextDocument: never,
  onWillSaveTextDocument: never,
  onDidSaveTextDocument: never,
  onDidChangeWorkspaceFolders: never,
  onDidOpenNotebookDocument: never,
  onDidChangeNotebookDocument: never,
  onDidCloseNotebookDocument: never,
  onDidSaveNotebookDocument: never,
  onDidCreateFiles: never,
  onDidRenameFiles: never,
  onDidDeleteFiles: never,
  onWillCreateFiles: never,
  onWillRenameFiles: never,
  onWillDeleteFiles: never,
  createFileSystemWatcher: () => ({ onDidCreate: never, onDidChange: never, onDidDelete: never, dispose: () => undefined }),
  applyEdit: vi.fn(() => Promise.resolve(true)),
  registerTextDocumentContentProvider(scheme: string, provider: { provideTextDocumentContent(uri: Uri): string }) {
    contentProviders.set(scheme, provider);
    return new Disposable(() => contentProviders.delete(scheme));
  },
  /** An untitled document from its text, or a document of a registered content provider
   * (VS Code fails for a scheme nobody provides). */
  async openTextDocument(options: { language?: string; content?: string } | Uri) {
    if (options instanceof Uri) {
      const provider = contentProviders.get(options.scheme);
      if (provider === undefined) {
        throw new Error(`no content provider for ${options.toString()}`);
      }
      const document = { language: options.path.endsWith(".md") ? "markdown" : undefined, content: provider.provideTextDocumentContent(options) };
      recorded.documents.push(document);
      return { uri: options, ...document };
    }
    recorded.documents.push(options);
    return { uri: Uri.parse("untitled:Untitled-1"), ...options };
  },
};

function message(level: "info" | "warning" | "error") {
  return (text: string, ...rest: unknown[]) => {
    // buttons: strings or MessageItems ({title}); a first object without a title: the options
    const options = rest[0] !== null && typeof rest[0] === "object" && !("title" in rest[0]) ? rest.shift() : undefined;
    const buttons = rest.map((item) => (typeof item === "string" ? item : String((item as { title: unknown }).title)));
    recorded.messages.push(options === undefined ? { level, text, buttons } : { level, text, buttons, options: options as object });
    return Promise.resolve(answers.message);
  };
}

export const window = {
  activeTextEditor: undefined as unknown,
  visibleTextEditors: [] as unknown[],
  tabGroups: { all: [] as unknown[], onDidChangeTabs: never, onDidChangeTabGroups: never },
  onDidChangeActiveTextEditor: never,
  onDidChangeVisibleTextEditors: never,
  onDidChangeTextEditorSelection: never,
  showInputBox: vi.fn((options?: unknown) => {
    answers.inputBoxOptions.push(options);
    return Promise.resolve(answers.inputBox.shift());
  }),
  showQuickPick: vi.fn(() => Promise.resolve(answers.quickPick)),
  showInformationMessage: message("info"),
  showWarningMessage: message("warning"),
  showErrorMessage: message("error"),
  showOpenDialog: vi.fn(() => Promise.resolve(undefined)),
  showTextDocument: vi.fn(() => Promise.resolve(undefined)),
  setStatusBarMessage(text: string) {
    recorded.statusMessages.push(text);
    return new Disposable();
  },
  withProgress<R>(
    options: ProgressCall["options"],
    task: (
      progress: { report(value: { message?: string }): void },
      token: CancellationTokenSource["token"],
    ) => PromiseLike<R>,
  ): Promise<R> {
    const source = new CancellationTokenSource();
    const call = { options, reports: [] as Array<{ message?: string }>, cancel: () => source.cancel() } as ProgressCall;
    recorded.progress.push(call);
    const done = Promise.resolve(task({ report: (value) => call.reports.push(value) }, source.token));
    call.done = done;
    return done;
  },
  createStatusBarItem(id?: string, alignment?: StatusBarAlignment, priority?: number) {
    const item: Record<string, unknown> = { id, alignment, priority, visible: false };
    const history = { text: recorded.statusTexts, tooltip: recorded.statusTooltips };
    for (const [key, values] of Object.entries(history)) {
      let value: unknown;
      Object.defineProperty(item, key, {
        enumerable: true,
        get: () => value,
        set: (next: unknown) => {
          value = next;
          values.push(String(next));
        },
      });
    }
    item.show = () => (item.visible = true);
    item.hide = () => (item.visible = false);
    item.dispose = () => undefined;
    recorded.statusItems.push(item);
    return item;
  },
  createOutputChannel(name: string) {
    const lines: string[] = [];
    const log = (text: string) => {
      lines.push(text);
      recorded.outputLines.push(text);
    };
    return {
      name,
      lines,
      get logLevel() {
        return outputLogLevel.value;
      },
      onDidChangeLogLevel: never,
      replace: log,
      clear: () => undefined,
      hide: () => undefined,
      append: log,
      appendLine: log,
      info: log,
      warn: log,
      error: log,
      debug: log,
      trace: log,
      show: () => undefined,
      dispose: () => undefined,
    };
  },
};

export const commands = {
  registerCommand(command: string, callback: (...args: unknown[]) => unknown): Disposable {
    if (recorded.commands.has(command)) {
      throw new Error(`command '${command}' already exists`);
    }
    recorded.commands.set(command, callback);
    return new Disposable(() => recorded.commands.delete(command));
  },
  async executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    recorded.executed.push({ command, args });
    return recorded.commands.get(command)?.(...args);
  },
};

export const extensions = {
  getExtension(id: string) {
    return extensionsInstalled.get(id);
  },
};

export const env = { language: "en", appName: "vscode-stub", machineId: "stub", sessionId: "stub", uiKind: 1 };

/** vscode-languageclient registers its providers here; none is ever asked. */
const noLanguageFeatures: Record<string, unknown> = {};
export const languages = new Proxy(noLanguageFeatures, {
  get(target, key) {
    if (typeof key === "string" && key.startsWith("register")) {
      return () => new Disposable();
    }
    if (key === "match") {
      return () => 0;
    }
    return typeof key === "string" && key.startsWith("onDid") ? never : target[key as string];
  },
});
