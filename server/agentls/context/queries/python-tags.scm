; Definitions, references and imports of Python.
; Captures: @definition.<kind> (the whole definition) with @name; @import (a whole import).

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(module
  (expression_statement
    (assignment
      left: (identifier) @name) @definition.constant))

(class_definition
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @name) @definition.field)))

(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
