// Package zpl compiles and renders ZPL label templates with escaped field
// data and GS1 barcode helpers, lints templates, and previews labels as PNG.
// It is pure: it reads templates only from an fs.FS it is given.
package zpl
