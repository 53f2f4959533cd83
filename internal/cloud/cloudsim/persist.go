package cloudsim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeagent/edgeagent/internal/cloud"
)

// savedState is what the emulator keeps between runs (the demo continues
// where it stopped): orders, serials and containers.
type savedState struct {
	LabelOrders  map[string]cloud.LabelOrder     `json:"label_orders"`
	Packaging    map[string]cloud.PackagingOrder `json:"packaging_orders"`
	PackOrder    []string                        `json:"packaging_order_sequence"`
	Serials      map[string]savedSerial          `json:"serials"`
	Containers   map[string]savedContainer       `json:"containers"`
	NextShipment int                             `json:"next_shipment"`
}

type savedSerial struct {
	GTIN, Batch, Expiry, Status, Reason, Parent string
}

type savedContainer struct {
	Parent   string
	Children []string
}

// Save writes the emulator's state to path (0600, atomically).
func (s *Sim) Save(path string) error {
	s.mu.Lock()
	st := savedState{LabelOrders: s.labelOrders, Packaging: s.packaging, PackOrder: s.packOrder, Serials: map[string]savedSerial{},
		Containers: map[string]savedContainer{}, NextShipment: s.nextShipment}
	for k, v := range s.serials {
		st.Serials[k] = savedSerial{v.gtin, v.batch, v.expiry, v.status, v.reason, v.parent}
	}
	for k, v := range s.containers {
		c := savedContainer{Parent: v.parent}
		for ch := range v.children {
			c.Children = append(c.Children, ch)
		}
		st.Containers[k] = c
	}
	data, err := json.Marshal(st)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cloudsim-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load reads a state written by Save; a missing file is an empty state.
func (s *Sim) Load(path string) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var st savedState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("emulator state %s: %w", path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range st.LabelOrders {
		s.labelOrders[k] = v
	}
	for k, v := range st.Packaging {
		s.packaging[k] = v
	}
	s.packOrder = append(s.packOrder, st.PackOrder...)
	for k, v := range st.Serials {
		s.serials[k] = &serial{gtin: v.GTIN, batch: v.Batch, expiry: v.Expiry, status: v.Status, reason: v.Reason, parent: v.Parent}
	}
	for k, v := range st.Containers {
		c := &container{parent: v.Parent, children: map[string]bool{}}
		for _, ch := range v.Children {
			c.children[ch] = true
		}
		s.containers[k] = c
	}
	if st.NextShipment > s.nextShipment {
		s.nextShipment = st.NextShipment
	}
	return nil
}
