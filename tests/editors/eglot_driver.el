;;; eglot_driver.el --- drive agentls from Emacs 28 + eglot 1.9 (batch or terminal) -*- lexical-binding: t -*-

;; emacs --batch -Q -l eglot_driver.el, with $AGENTLS_DRIVER_CONFIG naming a JSON
;; config (see tests/editors/harness.py).  Opens the file, connects eglot to
;; agentls, asks for code actions on the instruction comment, executes the
;; "Agent: ..." action's command with `eglot-execute-command' (a blocking
;; jsonrpc-request: eglot's own applyEdit handler applies the streamed edits
;; meanwhile), optionally types elsewhere while it runs and runs agentls.undo,
;; then writes what it saw as JSON to config.output and exits (0 ok, 1 error).
;; With config.run_args (batch only) it executes agentls.run with them instead of
;; a code action, and types the config.moments steps at their moments.
;;
;; Batch mode has no idle time, so eglot's didChange idle timer would never fire.
;; Two stand-ins, both calling eglot's own code:
;; - always: `run-with-idle-timer' inside `eglot--after-change' becomes a plain
;;   timer with the same delay (0.5 s), which fires while jsonrpc-request waits;
;; - config.flush_did_change: an :after advice on `eglot--apply-text-edits' sends
;;   didChange as soon as an edit is applied.
;;
;; A terminal Emacs (emacs -nw) gets no stand-in: the flow runs as a command, and
;; eglot's idle timer cannot fire while the command waits for its answer.  agentls
;; then answers early with status "running"; the command ends (Emacs goes back to
;; its command loop and becomes idle, so eglot sends didChange, as for a user),
;; and a repeating timer waits for the server's closing "agentls: ..." message,
;; asks agentls.status for the task's final status, records the text and exits
;; (or first runs agentls.undo as another command, waiting for its message too
;; when it is answered early with status "pending").

(require 'cl-lib)
(require 'json)
(require 'subr-x)

(defvar drv-config nil "The JSON config, as a plist.")
(defvar drv-out (make-hash-table :test #'equal) "What the driver saw.")
(defvar drv-log-lines nil "Log lines, newest first.")
(defvar drv-t0 (float-time))
(defvar drv-server nil)
(defvar drv-buffer nil)

(defun drv-ms () (round (* 1000 (- (float-time) drv-t0))))

(defun drv-log (fmt &rest args)
  (push (format "[%6d ms] %s" (drv-ms) (apply #'format fmt args)) drv-log-lines))

(defun drv-set (key value) (puthash key value drv-out))

(defun drv-cfg (key) (plist-get drv-config key))

(defun drv-write-file (path text)
  (let ((coding-system-for-write 'utf-8-unix))
    (with-temp-file path
      (set-buffer-multibyte t)
      (insert text))))

(defun drv-buffer-text ()
  (with-current-buffer drv-buffer
    (save-restriction
      (widen)
      (buffer-substring-no-properties (point-min) (point-max)))))

(defun drv-flush-files ()
  (let ((json-encoding-pretty-print nil))
    (drv-write-file (drv-cfg :output) (json-encode drv-out)))
  (drv-write-file (drv-cfg :log)
                  (concat (string-join (reverse drv-log-lines) "\n") "\n")))

;;; eglot from Debian's elpa directories (-Q skips site-start)

(dolist (dir (reverse (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*")))
  (when (file-directory-p dir)
    (add-to-list 'load-path dir)))
(require 'eglot)

(setq eglot-confirm-server-initiated-edits nil
      eglot-sync-connect t
      eglot-connect-timeout 30
      eglot-autoreconnect nil
      eglot-events-buffer-size 4000000
      inhibit-message nil)
;; A terminal Emacs keeps eglot's request timeout (10 s), as a user has it.
(when noninteractive
  (setq jsonrpc-default-request-timeout 60))
(prefer-coding-system 'utf-8-unix)

(defun drv--after-change-with-plain-timer (orig &rest args)
  "Run eglot's after-change hook with its idle timer turned into a plain timer."
  (cl-letf (((symbol-function 'run-with-idle-timer) #'run-with-timer))
    (apply orig args)))
(when noninteractive
  (advice-add 'eglot--after-change :around #'drv--after-change-with-plain-timer))

(defun drv--flush-did-change (&rest _)
  "Send the pending didChange now (eglot would on its idle timer)."
  (when eglot--managed-mode
    (eglot--signal-textDocument/didChange)))

;;; typing elsewhere while the command runs

(defvar drv-steps nil "Typing steps not done yet.")
(defvar drv-step-count 0)
(defvar drv-step-pending nil)
(defvar drv-self-typing nil)
(defvar drv-snapshots nil)

(defun drv-type-op (step)
  "Type STEP in the current buffer: insert_top inserts the line :text at the top,
append_last appends :text to the last non-empty line, insert_after inserts the
line :text below the first line that holds :match."
  (let ((op (plist-get step :op))
        (text (plist-get step :text)))
    (save-excursion
      (widen)
      (cond ((equal op "insert_top")
             (goto-char (point-min))
             (insert text "\n"))
            ((equal op "append_last")
             (goto-char (point-max))
             (skip-chars-backward "\n")
             (insert text))
            ((equal op "insert_after")
             (goto-char (point-min))
             (unless (search-forward (plist-get step :match) nil t)
               (error "No line holds %s" (plist-get step :match)))
             (end-of-line)
             (insert "\n" text))
            (t (error "Unknown typing op %s" op))))))

;;; typing at set moments (config.moments)
;; A step with :after "run" or "undo" is typed :ms after that command is sent (a
;; timer: timers run while jsonrpc-request waits); :after "text": :ms after an edit
;; not typed here first makes the buffer hold :contains.  Each typed step is
;; recorded in the output's "moments".

(defvar drv-moments nil "Typed moments, newest first.")
(defvar drv-moments-due nil "Alist: (AFTER . steps scheduled and not typed yet).")
(defvar drv-moments-waiting nil "Steps typed once the buffer holds their :contains.")

(defun drv-moment-due (after delta)
  (setf (alist-get after drv-moments-due nil nil #'equal)
        (+ delta (alist-get after drv-moments-due 0 nil #'equal))))

(defun drv-type-moment (step)
  (let ((err nil))
    (with-current-buffer drv-buffer
      (let ((drv-self-typing t))
        (condition-case e
            (drv-type-op step)
          (error (setq err (error-message-string e))))))
    (let ((snap (make-hash-table :test #'equal)))
      (puthash "at_ms" (drv-ms) snap)
      (puthash "after" (plist-get step :after) snap)
      (puthash "op" (plist-get step :op) snap)
      (puthash "text" (drv-buffer-text) snap)
      (puthash "error" err snap)
      (push snap drv-moments))
    (drv-moment-due (plist-get step :after) -1)
    (drv-log "typed a moment (%s, %s): %s"
             (plist-get step :after) (plist-get step :op) (or err "ok"))))

(defun drv-schedule-moments (after)
  (dolist (step (drv-cfg :moments))
    (when (equal (plist-get step :after) after)
      (drv-moment-due after 1)
      (run-at-time (/ (or (plist-get step :ms) 0) 1000.0) nil #'drv-type-moment step))))

(defun drv-moments-done (after)
  "Wait until every step scheduled for AFTER is typed (before the text is read)."
  (let ((deadline (+ (float-time) 5)))
    (while (and (> (alist-get after drv-moments-due 0 nil #'equal) 0)
                (< (float-time) deadline))
      (accept-process-output nil 0.02))
    (when (> (alist-get after drv-moments-due 0 nil #'equal) 0)
      (error "Timed out waiting for the typing after %s" after))))

(defun drv-check-moments ()
  (let ((text (drv-buffer-text)))
    (dolist (step drv-moments-waiting)
      (when (string-search (plist-get step :contains) text)
        (setq drv-moments-waiting (delq step drv-moments-waiting))
        (drv-log "the buffer holds %S" (plist-get step :contains))
        (run-at-time (/ (or (plist-get step :ms) 0) 1000.0) nil #'drv-type-moment step)))))

(defun drv-moments-after-change (&rest _)
  "A change not typed here: look for the waiting steps' text once it is in."
  (when (and drv-moments-waiting (not drv-self-typing))
    (run-at-time 0 nil #'drv-check-moments)))

(defun drv-watch-moments ()
  (dolist (step (drv-cfg :moments))
    (when (equal (plist-get step :after) "text")
      (drv-moment-due "text" 1)
      (push step drv-moments-waiting)))
  (when drv-moments-waiting
    (with-current-buffer drv-buffer
      (add-hook 'after-change-functions #'drv-moments-after-change nil t))))

(defun drv-type-step ()
  (setq drv-step-pending nil)
  (when drv-steps
    (let* ((step (pop drv-steps))
           (op (plist-get step :op))
           (text (plist-get step :text))
           (err nil))
      (with-current-buffer drv-buffer
        (let ((drv-self-typing t))
          (condition-case e
              (drv-type-op step)
            (error (setq err (error-message-string e))))))
      (cl-incf drv-step-count)
      (let ((snap (make-hash-table :test #'equal)))
        (puthash "at_ms" (drv-ms) snap)
        (puthash "op" op snap)
        (puthash "text" (drv-buffer-text) snap)
        (puthash "error" err snap)
        (push snap drv-snapshots))
      (drv-log "typed step %d (%s): %s" drv-step-count op (or err "ok")))))

(defun drv-after-change (&rest _)
  "A change not typed by us is a server edit: type the next step shortly after."
  (when (and drv-steps (not drv-self-typing) (not drv-step-pending))
    (setq drv-step-pending t)
    (run-at-time (/ (or (drv-cfg :typing_delay_ms) 20) 1000.0) nil #'drv-type-step)))

;;; the flow

(defun drv-execute (command arguments)
  "Execute COMMAND the way eglot does for a code action; return the result.
In batch mode the request timeout differs: eglot's default (10 s) becomes the
config's; a terminal Emacs keeps eglot's default."
  (let ((jsonrpc-default-request-timeout
         (if noninteractive
             (/ (drv-cfg :command_timeout_ms) 1000.0)
           jsonrpc-default-request-timeout)))
    (eglot-execute-command drv-server (intern command) arguments)))

;;; waiting for a task that goes on after its command was answered

(defvar drv-wait-timer nil)
(defvar drv-messages-start nil "Where *Messages* stood when the command was sent.")
(defvar drv-task-id nil)

(defun drv-messages-point ()
  (with-current-buffer (messages-buffer) (point-max)))

(defun drv-server-message (regexp)
  "The first window/showMessage matching REGEXP that eglot put in *Messages*
after `drv-messages-start': (TYPE TEXT), or nil while there is none."
  (with-current-buffer (messages-buffer)
    (save-excursion
      (goto-char (min drv-messages-start (point-max)))
      (when (re-search-forward
             (concat "Server reports (type=\\([0-9]+\\)): \\(" regexp "\\)$") nil t)
        (list (string-to-number (match-string-no-properties 1))
              (match-string-no-properties 2))))))

(defun drv-wait-for-message (what regexp then)
  "Wait for the server's message WHAT (matching REGEXP), then call THEN with it.
A repeating 0.1 s timer looks at *Messages*: Emacs stays idle meanwhile, so eglot's
idle timer sends didChange, as for a user who waits.  Errors end the run."
  (let ((deadline (+ (float-time) (/ (drv-cfg :command_timeout_ms) 1000.0))))
    (setq drv-wait-timer
          (run-at-time
           0.1 0.1
           (lambda ()
             (let ((found (drv-server-message regexp)))
               (when (or found (> (float-time) deadline))
                 (cancel-timer drv-wait-timer)
                 (condition-case err
                     (if found
                         (progn (drv-log "%s: %S" what found)
                                (funcall then found))
                       (error "No %s from the server" what))
                   (error
                    (drv-set "error" (format "%s: %S" (error-message-string err) err))
                    (drv-log "ERROR: %S" err)
                    (drv-finish nil))))))))))

(defun drv-record-text ()
  (setq drv-steps nil)
  (drv-set "text" (drv-buffer-text))
  (drv-set "typed_steps" drv-step-count)
  (drv-set "snapshots" (vconcat (reverse drv-snapshots))))

(defun drv-task-ended (message)
  "The task's closing MESSAGE arrived: record the text and agentls.status."
  (drv-set "final_ms" (drv-ms))
  (drv-set "final_message_type" (car message))
  (drv-set "final_message" (cadr message))
  (drv-record-text)
  ;; What agentls.status says of the task now (a quick request).
  (let* ((status (drv-execute "agentls.status" []))
         (task (cl-find-if (lambda (task) (equal (plist-get task :taskId) drv-task-id))
                           (append (plist-get status :recent) (plist-get status :running)))))
    (drv-set "status" status)
    (drv-set "final" task)
    (drv-log "agentls.status: %S" status))
  (if (drv-cfg :undo)
      ;; Undo as a user does: another command, from the command loop.
      (setq unread-command-events (list 'f6))
    (drv-set "ok" t)
    (drv-finish t)))

(defun drv-undo ()
  "Execute agentls.undo for the task, as a command (as a user does).  When it is
answered early (status \"pending\"), wait for the undo's message; then record the
text, write the output and exit."
  (interactive)
  (condition-case err
      (let ((undo (progn
                    (drv-set "undo_ms" (drv-ms))
                    (setq drv-messages-start (drv-messages-point))
                    (drv-execute "agentls.undo" (vector (list :taskId drv-task-id))))))
        (drv-set "undo_answered_ms" (drv-ms))
        (drv-set "undo_result" undo)
        (drv-set "text_at_undo_answer" (drv-buffer-text))
        (drv-log "undo: %S" undo)
        (if (equal (plist-get undo :status) "pending")
            (drv-wait-for-message
             "the undo's message" (concat "agentls: undo of " (regexp-quote drv-task-id) ".*")
             (lambda (message)
               (drv-set "undo_message_type" (car message))
               (drv-set "undo_message" (cadr message))
               (drv-set "text_after_undo" (drv-buffer-text))
               (drv-set "ok" t)
               (drv-finish t)))
          (drv-set "text_after_undo" (drv-buffer-text))
          (drv-set "ok" t)
          (drv-finish t)))
    (error
     (drv-set "error" (format "agentls.undo: %s: %S" (error-message-string err) err))
     (drv-log "ERROR in agentls.undo: %S" err)
     (drv-set "text_after_undo" (drv-buffer-text))
     (drv-finish nil))))

(defun drv-wait-in-background (result)
  "The command was answered early (RESULT's status is \"running\"): let the
current command end and wait for the task's closing message from a timer."
  (setq drv-task-id (plist-get result :taskId))
  (drv-log "answered early (%S): waiting for the task in the background" result)
  (drv-wait-for-message "the task's closing message" "agentls: .*" #'drv-task-ended))

(defun drv-main ()
  (setq drv-config
        (let ((json-object-type 'plist)
              (json-array-type 'list)
              (json-key-type 'keyword)
              (json-false nil))
          (json-read-file (or (getenv "AGENTLS_DRIVER_CONFIG")
                              (error "AGENTLS_DRIVER_CONFIG is not set")))))
  (drv-log "emacs %s, eglot from %s" emacs-version (locate-library "eglot"))
  (when (drv-cfg :flush_did_change)
    (advice-add 'eglot--apply-text-edits :after #'drv--flush-did-change))

  (setq drv-buffer (find-file-noselect (drv-cfg :file)))
  (set-buffer drv-buffer)
  (drv-set "original" (drv-buffer-text))
  (drv-log "opened %s in %s" (buffer-file-name) major-mode)

  (let* ((contact (append (drv-cfg :server_cmd)
                          (list :initializationOptions (drv-cfg :init_options)))))
    (setq drv-server (eglot '(python-mode) (eglot--current-project)
                            'eglot-lsp-server contact "python")))
  (unless (and drv-server (jsonrpc-running-p drv-server))
    (error "eglot did not connect"))
  (unless eglot--managed-mode
    (error "the buffer is not managed by eglot"))
  (drv-log "connected: %s" (jsonrpc-name drv-server))
  (if (drv-cfg :run_args)
      (drv-run-with-args)
    (drv-run-action)))

(defun drv-run-with-args ()
  "agentls.run with config.run_args on the opened file (a rewrite with a range, the
full agent without), typing at the configured moments; then agentls.undo if asked."
  (let ((args (append (list :uri (plist-get (eglot--TextDocumentIdentifier) :uri))
                      (drv-cfg :run_args))))
    (drv-watch-moments)
    (drv-log "executing agentls.run %S" args)
    (drv-set "executed_ms" (drv-ms))
    (drv-schedule-moments "run")
    (let ((result (drv-execute "agentls.run" (vector args))))
      (drv-set "result_ms" (drv-ms))
      (drv-set "result" result)
      (drv-log "result: %S" result)
      (drv-moments-done "run")
      (drv-moments-done "text")
      (drv-set "text" (drv-buffer-text))
      (when (drv-cfg :undo)
        (drv-schedule-moments "undo")
        (let ((undo (drv-execute "agentls.undo"
                                 (vector (list :taskId (plist-get result :taskId))))))
          (drv-set "undo_result" undo)
          (drv-log "undo: %S" undo)
          (drv-moments-done "undo")
          (drv-set "text_after_undo" (drv-buffer-text))))
      (drv-set "ok" t))))

(defun drv-run-action ()
  "Execute the \"Agent: ...\" code action of the instruction comment."
  ;; Code actions at the end of the instruction comment's line.
  (goto-char (point-min))
  (unless (search-forward (drv-cfg :marker) nil t)
    (error "No line holds %s" (drv-cfg :marker)))
  (end-of-line)
  (let* ((actions (eglot-code-actions (point) (point)))
         (action (cl-find-if (lambda (a)
                               (and (string-prefix-p "Agent: " (plist-get a :title))
                                    (plist-get a :command)))
                             actions)))
    (drv-set "actions" (vconcat actions))
    (unless action
      (error "No \"Agent: ...\" code action among %S" actions))
    (drv-set "action" action)
    (drv-log "action: %s" (plist-get action :title))

    (setq drv-steps (drv-cfg :typing))
    (add-hook 'after-change-functions #'drv-after-change nil t)
    (setq drv-messages-start (drv-messages-point))
    (let* ((command (plist-get action :command))
           (result (progn
                     (drv-log "executing %s" (plist-get command :command))
                     (drv-set "executed_ms" (drv-ms))
                     (drv-execute (plist-get command :command)
                                  (plist-get command :arguments)))))
      (drv-set "result_ms" (drv-ms))
      (drv-set "result" result)
      (drv-set "text_at_result" (drv-buffer-text))
      (drv-log "result: %S" result)
      (if (and (not noninteractive) (equal (plist-get result :status) "running"))
          (progn (drv-wait-in-background result) 'waiting)
        (drv-record-text)
        (when (drv-cfg :undo)
          (let ((undo (drv-execute "agentls.undo"
                                   (vector (list :taskId (plist-get result :taskId))))))
            (drv-set "undo_result" undo)
            (drv-set "text_after_undo" (drv-buffer-text))
            (drv-log "undo: %S" undo)))
        (drv-set "ok" t)))))

(defun drv-run ()
  "Run the flow; unless it goes on from a timer, write the output and exit."
  (interactive)
  (let ((ok nil) (waiting nil))
    (condition-case err
        (progn (setq waiting (eq (drv-main) 'waiting)) (setq ok t))
      (error
       (drv-set "error" (format "%s: %S" (error-message-string err) err))
       (drv-log "ERROR: %S" err)))
    (unless waiting
      (drv-finish ok))))

(defun drv-finish (ok)
  "Collect the logs, shut eglot down, write the output and exit (0 when OK)."
  (drv-set "moments" (vconcat (reverse drv-moments)))
  (condition-case err
      (progn
        (drv-set "messages" (with-current-buffer (messages-buffer)
                              (buffer-substring-no-properties (point-min) (point-max))))
        (when (and drv-server (drv-cfg :events_log))
          (let ((events (jsonrpc-events-buffer drv-server)))
            (when (buffer-live-p events)
              (drv-write-file (drv-cfg :events_log)
                              (with-current-buffer events
                                (buffer-substring-no-properties
                                 (point-min) (point-max))))))))
    (error (drv-log "collecting logs failed: %S" err)))
  (when drv-server
    (with-timeout (5 (drv-log "eglot-shutdown timed out"))
      (condition-case err
          (eglot-shutdown drv-server nil 3)
        (error (drv-log "eglot-shutdown: %S" err)))))
  (drv-flush-files)
  (kill-emacs (if ok 0 1)))

;; In batch mode, run now.  Interactively (a terminal Emacs), run the flow as a
;; command, the way a user runs a code action: Emacs is not idle while it runs,
;; and becomes idle again when the command ends.
(if noninteractive
    (drv-run)
  (global-set-key [f5] #'drv-run)
  (global-set-key [f6] #'drv-undo)
  (run-at-time 0.2 nil (lambda () (setq unread-command-events (list 'f5)))))

;;; eglot_driver.el ends here
