-- Neovim 0.7 driver for the agentls editor tests (nvim --headless --clean -u this).
--
-- Reads the JSON config named by $AGENTLS_DRIVER_CONFIG, opens the file, starts
-- agentls with vim.lsp.start_client, asks for code actions on the instruction
-- comment, executes the "Agent: ..." action's command synchronously (the default
-- workspace/applyEdit handler applies the streamed edits meanwhile), optionally
-- types elsewhere while it runs and runs agentls.undo, then writes what it saw as
-- JSON to config.output and exits (0: flow finished, 1: error; see config.log).

local cfg
local out = { ok = false, snapshots = {} }
local log_lines = {}
local t0 = vim.loop.hrtime()

local function ms()
  return math.floor((vim.loop.hrtime() - t0) / 1e6)
end

local function log(fmt, ...)
  local line = string.format('[%6d ms] ' .. fmt, ms(), ...)
  table.insert(log_lines, line)
end

local function flush_files()
  if cfg and cfg.log then
    pcall(vim.fn.writefile, log_lines, cfg.log)
  end
  if cfg and cfg.output then
    pcall(vim.fn.writefile, { vim.fn.json_encode(out) }, cfg.output)
  end
end

local function buffer_text(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local text = table.concat(lines, '\n')
  if vim.api.nvim_buf_get_option(bufnr, 'eol') then
    text = text .. '\n'
  end
  return text
end

local function wait_for(what, timeout_ms, cond)
  local ok = vim.wait(timeout_ms, cond, 10)
  if not ok then
    error('timed out after ' .. timeout_ms .. ' ms waiting for ' .. what)
  end
end

-- Types the configured steps elsewhere in the buffer while the command runs: one
-- step typing_delay_ms after each change the server makes (seen by on_lines), so
-- the user's typing always lands between two streamed edits.
local function start_typing(bufnr, steps, delay)
  local state = { next = 1, done = #steps == 0, pending = false, typing = false }
  if state.done then
    return state
  end
  local function type_step()
    state.pending = false
    if state.done then
      return
    end
    local step = steps[state.next]
    state.typing = true
    local ok, err = pcall(function()
      if step.op == 'insert_top' then
        vim.api.nvim_buf_set_lines(bufnr, 0, 0, true, { step.text })
      elseif step.op == 'append_last' then
        local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, true)
        local row = #lines
        while row > 1 and lines[row] == '' do
          row = row - 1
        end
        local col = #lines[row]
        vim.api.nvim_buf_set_text(bufnr, row - 1, col, row - 1, col, { step.text })
      else
        error('unknown typing op ' .. tostring(step.op))
      end
    end)
    state.typing = false
    table.insert(out.snapshots, { at_ms = ms(), op = step.op, text = buffer_text(bufnr), error = err or vim.NIL })
    log('typed step %d (%s): %s', state.next, step.op, ok and 'ok' or tostring(err))
    state.next = state.next + 1
    state.done = state.next > #steps
  end
  vim.api.nvim_buf_attach(bufnr, false, {
    on_lines = function()
      if state.done then
        return true -- detach
      end
      if not state.typing and not state.pending then
        state.pending = true -- a server edit: type once it is in
        vim.defer_fn(type_step, delay)
      end
    end,
  })
  return state
end

local run_agent, run_action, files_state

-- agentls.undo of the task just run; its answer goes to out.undo_result.
local function undo(client, bufnr)
  local response, reason = client.request_sync('workspace/executeCommand', {
    command = 'agentls.undo',
    arguments = { { taskId = out.result.taskId } },
  }, cfg.command_timeout_ms, bufnr)
  assert(response, 'agentls.undo: ' .. tostring(reason))
  assert(not response.err, 'agentls.undo error: ' .. vim.inspect(response.err))
  out.undo_result = response.result
  log('undo: %s', vim.inspect(response.result))
end

local function main()
  local config_path = os.getenv('AGENTLS_DRIVER_CONFIG')
  assert(config_path, 'AGENTLS_DRIVER_CONFIG is not set')
  cfg = vim.fn.json_decode(table.concat(vim.fn.readfile(config_path), '\n'))
  vim.lsp.set_log_level('info')
  log('nvim %s', tostring(vim.version().major .. '.' .. vim.version().minor .. '.' .. vim.version().patch))

  vim.cmd('edit ' .. vim.fn.fnameescape(cfg.file))
  local bufnr = vim.api.nvim_get_current_buf()
  out.original = buffer_text(bufnr)

  local capabilities = vim.lsp.protocol.make_client_capabilities()
  if cfg.document_changes then
    -- Neovim 0.7 applies versioned TextDocumentEdits (and skips stale ones) but
    -- does not advertise it; a user config may turn it on like this.
    capabilities.workspace.workspaceEdit.documentChanges = true
  end
  local client_id = vim.lsp.start_client({
    name = 'agentls',
    cmd = cfg.server_cmd,
    root_dir = cfg.root,
    init_options = cfg.init_options,
    capabilities = capabilities,
    -- default flags: didChange debounced by Neovim's default (150 ms)
  })
  assert(client_id, 'vim.lsp.start_client failed')
  local client = vim.lsp.get_client_by_id(client_id)
  assert(vim.lsp.buf_attach_client(bufnr, client_id), 'buf_attach_client failed')
  wait_for('the client to initialize', 20000, function()
    return client.initialized == true
  end)
  log('initialized; offset_encoding=%s', tostring(client.offset_encoding))

  if cfg.run_args ~= nil and cfg.run_args ~= vim.NIL then
    run_agent(client, bufnr)
  else
    run_action(client, bufnr)
  end

  client.stop()
  vim.wait(3000, function()
    return client.is_stopped()
  end, 20)
  out.ok = true
end

-- The files' buffers (text, modified flag) and their text on disk.
function files_state()
  local state = {}
  for _, path in ipairs(cfg.report_files or {}) do
    local entry = { disk = vim.NIL, buffer = vim.NIL, modified = false }
    if vim.fn.filereadable(path) == 1 then
      entry.disk = table.concat(vim.fn.readfile(path, 'b'), '\n')
    end
    local bufnr = vim.fn.bufnr(path)
    if bufnr ~= -1 and vim.api.nvim_buf_is_loaded(bufnr) then
      entry.buffer = buffer_text(bufnr)
      entry.modified = vim.api.nvim_buf_get_option(bufnr, 'modified')
    end
    state[path] = entry
  end
  return state
end

-- The full agent: agentls.run without a range, from the current file.
function run_agent(client, bufnr)
  local args = vim.deepcopy(cfg.run_args)
  args.uri = vim.uri_from_bufnr(bufnr)
  log('executing agentls.run (full agent)')
  local response, reason = client.request_sync('workspace/executeCommand', {
    command = 'agentls.run',
    arguments = { args },
  }, cfg.command_timeout_ms, bufnr)
  assert(response, 'workspace/executeCommand: ' .. tostring(reason))
  assert(not response.err, 'workspace/executeCommand error: ' .. vim.inspect(response.err))
  out.result = response.result
  out.files = files_state()
  log('result: %s', vim.inspect(response.result))
  if cfg.undo then
    undo(client, bufnr)
    out.files_after_undo = files_state()
  end
end

function run_action(client, bufnr)
  -- The instruction comment: put the cursor at the end of its line and ask for the
  -- code actions there, the way :lua vim.lsp.buf.code_action() builds its params.
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, true)
  local row
  for i, line in ipairs(lines) do
    if line:find(cfg.marker, 1, true) then
      row = i
      break
    end
  end
  assert(row, 'no line holds ' .. cfg.marker)
  vim.api.nvim_win_set_cursor(0, { row, math.max(#lines[row] - 1, 0) })
  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = {} }
  out.code_action_params = params
  local response, reason = client.request_sync('textDocument/codeAction', params, 10000, bufnr)
  assert(response, 'textDocument/codeAction: ' .. tostring(reason))
  assert(not response.err, 'textDocument/codeAction error: ' .. vim.inspect(response.err))
  out.actions = response.result or {}
  local action
  for _, a in ipairs(out.actions) do
    if type(a.title) == 'string' and a.title:sub(1, 7) == 'Agent: ' and a.command then
      action = a
      break
    end
  end
  assert(action, 'no "Agent: ..." code action: ' .. vim.inspect(out.actions))
  out.action = action
  log('action: %s', action.title)

  local typing = start_typing(bufnr, cfg.typing or {}, cfg.typing_delay_ms or 20)
  local command = action.command
  log('executing %s', command.command)
  response, reason = client.request_sync('workspace/executeCommand', {
    command = command.command,
    arguments = command.arguments,
  }, cfg.command_timeout_ms, bufnr)
  assert(response, 'workspace/executeCommand: ' .. tostring(reason))
  assert(not response.err, 'workspace/executeCommand error: ' .. vim.inspect(response.err))
  out.result = response.result
  out.text = buffer_text(bufnr)
  out.result_ms = ms()
  out.typed_steps = typing.next - 1
  typing.done = true
  log('result: %s', vim.inspect(response.result))

  local progress = {}
  for token, p in pairs(client.messages.progress or {}) do
    table.insert(progress, { token = token, title = p.title, done = p.done and true or false })
  end
  out.progress = progress

  if cfg.undo then
    undo(client, bufnr)
    out.text_after_undo = buffer_text(bufnr)
  end
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  out.error = tostring(err)
  log('ERROR: %s', tostring(err))
end
local messages = vim.api.nvim_exec('messages', true)
out.messages = messages
log('messages:\n%s', messages)
flush_files()
if ok then
  vim.cmd('qall!')
else
  vim.cmd('cquit! 1')
end
