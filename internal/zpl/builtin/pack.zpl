^FX tag: pack
^FX description: Pack label: GS1 DataMatrix (GTIN, expiry, batch, serial) with human-readable text
^FX width: 50mm
^FX height: 30mm
^FX dpmm: 8
^FX keys: gtin expiry batch serial
^FX sample: gtin=09506000134352 expiry=261231 batch=AB_1CD serial=SN"%&()/_1
^XA
^CI28
^PW400
^LL240
^LH0,0
^FX GS1 DataMatrix: FNC1 first, FNC1 after each variable-length AI that is not last
^FO16,24^BXN,4,200,,,,_^FD{{gs1 01=gtin 17=expiry 10=batch 21=serial}}^FS
^FX Human-readable interpretation, one AI per line
^FO160,24^A0N,24,20^FB232,8,6,L^FD{{gs1 01=gtin 17=expiry 10=batch 21=serial}}^FS
^PQ1
^XZ
