^XA
^CI28
^PW400
^LL240
^LH0,0
^FX GS1 DataMatrix: FNC1 first, FNC1 after each variable-length AI that is not last
^FO16,24^BXN,4,200,,,,_^FD_101095060001343521726123110AB__1CD_121SN"%&()/__1^FS
^FX Human-readable interpretation, one AI per line
^FO160,24^A0N,24,20^FB232,8,6,L^FD(01) 09506000134352\&(17) 261231\&(10) AB_1CD\&(21) SN"%&()/_1^FS
^PQ1
^XZ