^FX tag: shipping
^FX description: Shipping label: the carrier's ZPL label format, checked and passed through
^FX width: 102mm
^FX height: 152mm
^FX dpmm: 8
^FX keys: label
{{raw label}}
