; Definitions and includes of C++.

[
  (struct_specifier
    name: (type_identifier) @name
    body: (_))
  (class_specifier
    name: (type_identifier) @name
    body: (_))
  (union_specifier
    name: (type_identifier) @name
    body: (_))
] @definition.class

(function_definition
  declarator: [
    (function_declarator
      declarator: [(identifier) (field_identifier)] @name)
    (function_declarator
      declarator: (qualified_identifier
        name: (identifier) @name))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (identifier) @name))
    (reference_declarator
      (function_declarator
        declarator: (identifier) @name))
  ]) @definition.function

(field_declaration
  declarator: (function_declarator
    declarator: (field_identifier) @name)) @definition.method

(declaration
  declarator: (function_declarator
    declarator: (identifier) @name)) @definition.function

(type_definition
  declarator: (type_identifier) @name) @definition.type

(alias_declaration
  name: (type_identifier) @name) @definition.type

(enum_specifier
  name: (type_identifier) @name
  body: (_)) @definition.type

(namespace_definition
  name: (namespace_identifier) @name) @definition.module

(preproc_def
  name: (identifier) @name) @definition.macro

(preproc_function_def
  name: (identifier) @name) @definition.macro

(preproc_include) @import
