package epcis

import (
	"fmt"
	"strings"
)

// Actions of an event.
const (
	ActionAdd     = "ADD"
	ActionObserve = "OBSERVE"
	ActionDelete  = "DELETE"
)

// CBV 2.0 business steps the agent writes, in the short form the JSON-LD
// context defines ("commissioning" stands for
// https://ref.gs1.org/cbv/BizStep-commissioning).
const (
	BizStepCommissioning   = "commissioning"
	BizStepDecommissioning = "decommissioning"
	BizStepDestroying      = "destroying"
	BizStepHolding         = "holding"
	BizStepPacking         = "packing"
	BizStepSampling        = "sampling"
	BizStepShipping        = "shipping"
	BizStepUnpacking       = "unpacking"
)

// CBV 2.0 dispositions the agent writes, short form.
const (
	DispActive           = "active"
	DispDestroyed        = "destroyed"
	DispInProgress       = "in_progress"
	DispInTransit        = "in_transit"
	DispInactive         = "inactive"
	DispNonSellableOther = "non_sellable_other"
)

// Business transaction types and source/destination types
// in short form (CBV 2.0).
const (
	BTTDespatchAdvice  = "desadv"
	BTTPurchaseOrder   = "po"
	BTTProductionOrder = "prodorder"
	SDTOwningParty     = "owning_party"
	SDTPossessingParty = "possessing_party"
	SDTLocation        = "location"
)

const (
	cbvBase             = "https://ref.gs1.org/cbv/"
	gs1VocBase          = "https://gs1.org/voc/"
	cbvMasterDataPrefix = "urn:epcglobal:cbv:mda:"
)

// Decommissioning is how one of the line's decommission reasons is written
// as an EPCIS ObjectEvent.
type Decommissioning struct {
	Action      string // ActionDelete: the serial leaves circulation for good
	BizStep     string // CBV 2.0 business step, short form
	Disposition string // CBV 2.0 disposition, short form
}

// DecommissionReasons maps each reason the line accepts (v2.Reasons:
// destroy, sample, free_sample, check_out, lock, export) to its CBV 2.0
// business step and disposition. Every one is an ObjectEvent with action
// DELETE: the ledger takes the serial out of circulation for good, and
// EPCIS defines DELETE as "decommissioned as part of this event"; the
// business step says how, the disposition what state the pack is left in.
//
//	reason       bizStep          disposition         why
//	destroy      destroying       destroyed           the pack is destroyed; CBV's own pair for it
//	sample       sampling         non_sellable_other  taken as a sample for testing; CBV 2.0 has the step but no "sample" disposition
//	free_sample  decommissioning  non_sellable_other  handed out free of charge: its serial retires, the pack may not be sold
//	check_out    decommissioning  inactive            checked out of the repository; inactive is CBV's state of a decommissioned object
//	lock         holding          non_sellable_other  blocked and held back (quarantine), not to be sold
//	export       shipping         in_transit          leaves this market for another: it retires here on its way out
//
// CBV 2.0 has no terms of its own for free samples, check-out, lock or
// export, so these use the nearest standard ones rather than private
// vocabulary that a partner's repository would not know.
var DecommissionReasons = map[string]Decommissioning{
	"destroy":     {ActionDelete, BizStepDestroying, DispDestroyed},
	"sample":      {ActionDelete, BizStepSampling, DispNonSellableOther},
	"free_sample": {ActionDelete, BizStepDecommissioning, DispNonSellableOther},
	"check_out":   {ActionDelete, BizStepDecommissioning, DispInactive},
	"lock":        {ActionDelete, BizStepHolding, DispNonSellableOther},
	"export":      {ActionDelete, BizStepShipping, DispInTransit},
}

// DecommissionFor returns the CBV mapping of a decommission reason.
func DecommissionFor(reason string) (Decommissioning, error) {
	d, ok := DecommissionReasons[reason]
	if !ok {
		return Decommissioning{}, fmt.Errorf("epcis: unknown decommission reason %q (want destroy, sample, free_sample, check_out, lock or export)", reason)
	}
	return d, nil
}

// The CBV 2.0 terms that the EPCIS 2.0 JSON-LD context lets a document write
// in bare form, by the property that takes them, and the Web URI each
// stands for. The canonical hash expands them (see hash.go).
var (
	bizStepTerms = words(`accepting arriving assembling collecting commissioning consigning creating_class_instance
		cycle_counting decommissioning departing destroying disassembling dispensing encoding entering_exiting holding
		inspecting installing killing loading other packing picking receiving removing repackaging repairing replacing
		reserving retail_selling sampling sensor_reporting shipping staging_outbound stock_taking stocking storing
		transporting unloading unpacking void_shipping`)
	dispositionTerms = words(`active available completeness_verified completeness_inferred conformant container_closed
		container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit inactive
		mismatch_instance mismatch_class mismatch_quantity needs_replacement no_pedigree_match non_conformant
		non_sellable_other partially_dispensed recalled reserved retail_sold returned sellable_accessible
		sellable_not_accessible stolen unavailable unknown`)
	bizTransactionTypeTerms = words(`bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt`)
	sourceDestTypeTerms     = words(`owning_party possessing_party location`)
	errorReasonTerms        = words(`did_not_occur incorrect_data`)
	componentTerms          = words(`x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle
		easting northing latitude longitude altitude`)
	measurementTypeTerms = words(`AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude
		AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum AngularVelocity Area
		Capacitance Conductance Conductivity Count Density Dimensionless DoseEquivalent DoseEquivalentRate
		DynamicViscosity ElectricCharge ElectricCurrent ElectricCurrentDensity ElectricFieldStrength Energy Exposure
		Force Frequency Illuminance Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance
		LuminousFlux LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass MassConcentration
		MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume Power Pressure
		RadiantFlux RadiantIntensity RelativeHumidity Resistance Resistivity SolidAngle SpecificVolume Speed
		SurfaceDensity SurfaceTension Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction
		VolumetricFlux Wavenumber`)
	exceptionTerms = words(`ALARM_CONDITION ERROR_CONDITION`)
)

// vocab is one property's bare terms and the URI prefix they expand under.
type vocab struct {
	terms map[string]bool
	base  string
}

var (
	vocabBizStep     = vocab{bizStepTerms, cbvBase + "BizStep-"}
	vocabDisposition = vocab{dispositionTerms, cbvBase + "Disp-"}
	vocabBTT         = vocab{bizTransactionTypeTerms, cbvBase + "BTT-"}
	vocabSDT         = vocab{sourceDestTypeTerms, cbvBase + "SDT-"}
	vocabER          = vocab{errorReasonTerms, cbvBase + "ER-"}
	vocabComponent   = vocab{componentTerms, cbvBase + "Comp-"}
	vocabMeasurement = vocab{measurementTypeTerms, gs1VocBase}
	vocabException   = vocab{exceptionTerms, gs1VocBase}
)

// expand returns the Web URI a value of the property stands for: a bare
// term, a cbv: or gs1: CURIE (both prefixes are protected in the standard
// context), or the value itself.
func (v vocab) expand(s string) string {
	switch {
	case v.terms[s]:
		return v.base + s
	case strings.HasPrefix(s, "cbv:"):
		return cbvBase + s[4:]
	case strings.HasPrefix(s, "gs1:"):
		return gs1VocBase + s[4:]
	}
	return s
}

// IsBizStep reports whether s is a CBV 2.0 business step in short form.
func IsBizStep(s string) bool { return bizStepTerms[s] }

// IsDisposition reports whether s is a CBV 2.0 disposition in short form.
func IsDisposition(s string) bool { return dispositionTerms[s] }

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}
