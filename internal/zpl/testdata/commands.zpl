^XA
^CI28
^PW800
^LL1600
^LH0,0
^FO40,24^A0N,40,34^FDStation commands: AGG-1^FS
^BY2,3,60
^FO60,80^A0N,24,20^FDStart a new case or pallet (prints its SSCC label)^FS
^FO60,108^BCN,60,N,N,N^FDCMD:NEW^FS
^FO60,180^A0N,24,20^FDClose the open case or pallet; request shipping labels^FS
^FO60,208^BCN,60,N,N,N^FDCMD:CLOSE^FS
^FO60,280^A0N,24,20^FDUndo: take out the last item scanned^FS
^FO60,308^BCN,60,N,N,N^FDCMD:UNDO^FS
^FO60,380^A0N,24,20^FDRemove: the next item scanned leaves its container^FS
^FO60,408^BCN,60,N,N,N^FDCMD:REMOVE^FS
^FO60,480^A0N,24,20^FDCancel the open case or pallet (or the scanned orders)^FS
^FO60,508^BCN,60,N,N,N^FDCMD:CANCEL^FS
^FO60,580^A0N,24,20^FDReprint the container label^FS
^FO60,608^BCN,60,N,N,N^FDCMD:REPRINT^FS
^FO60,680^A0N,24,20^FDMode: pack into cases^FS
^FO60,708^BCN,60,N,N,N^FDCMD:CASE^FS
^FO60,780^A0N,24,20^FDMode: build pallets from cases^FS
^FO60,808^BCN,60,N,N,N^FDCMD:PALLET^FS
^FO60,880^A0N,24,20^FDMode: shipping labels for scanned orders^FS
^FO60,908^BCN,60,N,N,N^FDCMD:SHIP^FS
^FO60,980^A0N,24,20^FDDecommission: destroyed^FS
^FO60,1008^BCN,60,N,N,N^FDCMD:DESTROY^FS
^FO60,1080^A0N,24,20^FDDecommission: sample^FS
^FO60,1108^BCN,60,N,N,N^FDCMD:SAMPLE^FS
^FO60,1180^A0N,24,20^FDDecommission: free sample^FS
^FO60,1208^BCN,60,N,N,N^FDCMD:FREE_SAMPLE^FS
^FO60,1280^A0N,24,20^FDDecommission: checked out^FS
^FO60,1308^BCN,60,N,N,N^FDCMD:CHECK_OUT^FS
^FO60,1380^A0N,24,20^FDDecommission: locked^FS
^FO60,1408^BCN,60,N,N,N^FDCMD:LOCK^FS
^FO60,1480^A0N,24,20^FDDecommission: exported^FS
^FO60,1508^BCN,60,N,N,N^FDCMD:EXPORT^FS
^PQ1
^XZ