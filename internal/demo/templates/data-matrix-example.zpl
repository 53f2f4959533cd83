^FX tag: data-matrix-example
^FX description: The V2 API's example template: GS1 DataMatrix (GTIN, expiry, batch, serial) with the product's text
^FX width: 60mm
^FX height: 40mm
^FX dpmm: 8
^FX keys: gtin expiry batch serial
^FX sample: gtin=02026041310005 expiry=271231 batch=MCS36042 serial=EXAMPLE0001
^XA
^CI28
^PW480
^LL320
^LH0,0
^FO16,16^A0N,28,24^FDExample product^FS
^FO16,56^BXN,5,200,,,,_^FD{{gs1 01=gtin 17=expiry 10=batch 21=serial}}^FS
^FO200,56^A0N,24,20^FB272,8,6,L^FD{{gs1 01=gtin 17=expiry 10=batch 21=serial}}^FS
^PQ1
^XZ
