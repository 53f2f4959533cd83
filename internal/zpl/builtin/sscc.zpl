^FX tag: sscc
^FX description: Case and pallet label: SSCC as GS1-128 (00) with human-readable text
^FX width: 100mm
^FX height: 70mm
^FX dpmm: 8
^FX keys: sscc
^FX sample: sscc=095060001343521236
^XA
^CI28
^PW800
^LL560
^LH0,0
^FO40,30^A0N,32,28^FDSSCC^FS
^FO40,70^A0N,56,48^FD{{gs1 00=sscc}}^FS
^FX GS1-128: start C, FNC1, then the digit pairs
^FO80,160^BY4,3,260^BCN,260,N,N,N^FD{{gs1 00=sscc}}^FS
^FO40,450^A0N,44,38^FD{{gs1 00=sscc}}^FS
^PQ1
^XZ
