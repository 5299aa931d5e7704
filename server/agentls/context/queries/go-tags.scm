; Definitions and imports of Go.

(function_declaration
  name: (identifier) @name) @definition.function

(method_declaration
  name: (field_identifier) @name) @definition.method

(type_declaration
  (type_spec
    name: (type_identifier) @name) @definition.type)

(source_file
  (var_declaration
    (var_spec
      name: (identifier) @name) @definition.constant))

(source_file
  (const_declaration
    (const_spec
      name: (identifier) @name) @definition.constant))

(import_spec) @import
