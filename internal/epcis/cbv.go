package epcis

import "strings"

const (
	cbvBase    = "https://ref.gs1.org/cbv/"
	gs1VocBase = "https://gs1.org/voc/"
)

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

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}
