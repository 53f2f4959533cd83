^FX tag: commands
^FX description: Command barcodes for a station: scan one to act on the open container or the next pack
^FX width: 100mm
^FX height: 150mm
^FX dpmm: 8
^FX keys: station
^FX sample: station=AGG-1
^XA
^CI28
^PW800
^LL1200
^LH0,0
^FO40,24^A0N,40,34^FDStation commands: {{station}}^FS
^BY2,3,70
^FO60,90^A0N,24,20^FDStart a new case or pallet^FS
^FO60,118^BCN,70,N,N,N^FDCMD:NEW^FS
^FO60,210^A0N,24,20^FDClose the open case or pallet^FS
^FO60,238^BCN,70,N,N,N^FDCMD:CLOSE^FS
^FO60,330^A0N,24,20^FDCancel the open case or pallet^FS
^FO60,358^BCN,70,N,N,N^FDCMD:CANCEL^FS
^FO60,450^A0N,24,20^FDDecommission: destroyed^FS
^FO60,478^BCN,70,N,N,N^FDCMD:DESTROY^FS
^FO60,570^A0N,24,20^FDDecommission: sample^FS
^FO60,598^BCN,70,N,N,N^FDCMD:SAMPLE^FS
^FO60,690^A0N,24,20^FDDecommission: free sample^FS
^FO60,718^BCN,70,N,N,N^FDCMD:FREE_SAMPLE^FS
^FO60,810^A0N,24,20^FDDecommission: checked out^FS
^FO60,838^BCN,70,N,N,N^FDCMD:CHECK_OUT^FS
^FO60,930^A0N,24,20^FDDecommission: locked^FS
^FO60,958^BCN,70,N,N,N^FDCMD:LOCK^FS
^FO60,1050^A0N,24,20^FDDecommission: exported^FS
^FO60,1078^BCN,70,N,N,N^FDCMD:EXPORT^FS
^PQ1
^XZ
