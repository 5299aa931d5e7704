; Definitions and imports of Rust.

[
  (struct_item
    name: (type_identifier) @name)
  (enum_item
    name: (type_identifier) @name)
  (union_item
    name: (type_identifier) @name)
] @definition.class

(type_item
  name: (type_identifier) @name) @definition.type

(declaration_list
  (function_item
    name: (identifier) @name) @definition.method)

(source_file
  (function_item
    name: (identifier) @name) @definition.function)

(mod_item
  (declaration_list
    (function_item
      name: (identifier) @name) @definition.function))

(trait_item
  name: (type_identifier) @name) @definition.interface

(mod_item
  name: (identifier) @name) @definition.module

(macro_definition
  name: (identifier) @name) @definition.macro

[
  (const_item
    name: (identifier) @name)
  (static_item
    name: (identifier) @name)
] @definition.constant

(use_declaration) @import
