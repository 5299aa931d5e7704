-- Neovim 0.7 driver for the agentls editor tests (nvim --headless --clean -u this).
--
-- Reads the JSON config named by $AGENTLS_DRIVER_CONFIG, opens the file, starts
-- agentls with vim.lsp.start_client, asks for code actions on the instruction
-- comment, executes the "Agent: ..." action's command synchronously (the default
-- workspace/applyEdit handler applies the streamed edits meanwhile), optionally
-- types elsewhere while it runs and runs agentls.undo, then writes what it saw as
-- JSON to config.output and exits (0: flow finished, 1: error; see config.log).
-- With config.run_args it executes agentls.run with them instead of a code action,
-- and types the config.moments steps at their moments (see harness.run_editor).

local cfg
local out = { ok = false, snapshots = {}, moments = {} }
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

-- One typing step: 'insert_top' inserts the line step.text at the top,
-- 'append_last' appends step.text to the last non-empty line, 'insert_after' inserts
-- the line step.text below the first line that holds step.match.
local function type_op(bufnr, step)
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
  elseif step.op == 'insert_after' then
    local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, true)
    for row, line in ipairs(lines) do
      if line:find(step.match, 1, true) then
        vim.api.nvim_buf_set_lines(bufnr, row, row, true, { step.text })
        return
      end
    end
    error('no line holds ' .. step.match)
  else
    error('unknown typing op ' .. tostring(step.op))
  end
end

-- Typing at set moments (config.moments): a step with after = 'run' or 'undo' is
-- typed step.ms after that command is sent (a timer: Neovim serves timers while
-- request_sync waits); after = 'text': step.ms after an edit not typed here first
-- makes the buffer hold step.contains. Each typed step is recorded in out.moments.
local moments = { typing = false, due = {} }

local function type_moment(bufnr, step)
  moments.typing = true
  local ok, err = pcall(type_op, bufnr, step)
  moments.typing = false
  table.insert(out.moments, {
    at_ms = ms(), after = step.after, op = step.op, text = buffer_text(bufnr), error = err or vim.NIL,
  })
  log('typed a moment (%s, %s): %s', step.after, step.op, ok and 'ok' or tostring(err))
end

local function schedule_moments(bufnr, after)
  for _, step in ipairs(cfg.moments or {}) do
    if step.after == after then
      moments.due[after] = (moments.due[after] or 0) + 1
      vim.defer_fn(function()
        type_moment(bufnr, step)
        moments.due[after] = moments.due[after] - 1
      end, step.ms or 0)
    end
  end
end

-- Waits until every step scheduled for `after` is typed (before the text is read).
local function moments_done(after)
  wait_for('the typing after ' .. after, 5000, function()
    return (moments.due[after] or 0) == 0
  end)
end

local function watch_moments(bufnr)
  local waiting = {}
  for _, step in ipairs(cfg.moments or {}) do
    if step.after == 'text' then
      table.insert(waiting, step)
      moments.due.text = (moments.due.text or 0) + 1
    end
  end
  if #waiting == 0 then
    return
  end
  local function check()
    local text = buffer_text(bufnr)
    for i = #waiting, 1, -1 do
      local step = waiting[i]
      if text:find(step.contains, 1, true) then
        table.remove(waiting, i)
        log('the buffer holds %q', step.contains)
        vim.defer_fn(function()
          type_moment(bufnr, step)
          moments.due.text = moments.due.text - 1
        end, step.ms or 0)
      end
    end
  end
  vim.api.nvim_buf_attach(bufnr, false, {
    on_lines = function()
      if #waiting == 0 then
        return true -- detach
      end
      if not moments.typing then
        vim.schedule(check) -- once the whole edit is in
      end
    end,
  })
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
    local ok, err = pcall(type_op, bufnr, step)
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
  schedule_moments(bufnr, 'undo')
  local response, reason = client.request_sync('workspace/executeCommand', {
    command = 'agentls.undo',
    arguments = { { taskId = out.result.taskId } },
  }, cfg.command_timeout_ms, bufnr)
  assert(response, 'agentls.undo: ' .. tostring(reason))
  assert(not response.err, 'agentls.undo error: ' .. vim.inspect(response.err))
  out.undo_result = response.result
  log('undo: %s', vim.inspect(response.result))
  moments_done('undo')
  out.text_after_undo = buffer_text(bufnr)
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

-- agentls.run with config.run_args (the full agent without a range, a rewrite with
-- one) on the current file, typing at the configured moments.
function run_agent(client, bufnr)
  local args = vim.deepcopy(cfg.run_args)
  args.uri = vim.uri_from_bufnr(bufnr)
  log('executing agentls.run (%s)', args.range and 'a range' or 'full agent')
  watch_moments(bufnr)
  out.executed_ms = ms()
  schedule_moments(bufnr, 'run')
  local response, reason = client.request_sync('workspace/executeCommand', {
    command = 'agentls.run',
    arguments = { args },
  }, cfg.command_timeout_ms, bufnr)
  assert(response, 'workspace/executeCommand: ' .. tostring(reason))
  assert(not response.err, 'workspace/executeCommand error: ' .. vim.inspect(response.err))
  out.result = response.result
  out.result_ms = ms()
  moments_done('run')
  moments_done('text')
  out.text = buffer_text(bufnr)
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
