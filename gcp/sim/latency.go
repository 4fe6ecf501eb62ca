package sim

import (
	"math"
	"time"
)

// Round-trip times between Google Cloud regions, for the load balancer's
// "nearest region" and for the latency the data plane adds when
// Profile.NetworkLatency is on.
//
// The figures are APPROXIMATE. rttMeasured holds median round trips between
// a few region pairs of the order Google Cloud's Performance Dashboard
// (Network Intelligence Center, "Google Cloud latency", region to region)
// and public VM-to-VM ping measurements across Google's backbone report;
// they were not measured here and drift over time. Every other pair is
// estimated from the great-circle distance between the regions' cities:
// light in fibre covers about 200 km per millisecond, real paths are about
// 1.4 times the great circle, and a round trip crosses twice, plus 2 ms of
// switching — which lands within some 20% of the measured pairs.

// regionSites is where each Cloud Run region's data centres are, as
// latitude and longitude of the city Google names for it.
var regionSites = map[string][2]float64{
	"africa-south1":           {-26.20, 28.05},  // Johannesburg
	"asia-east1":              {24.07, 120.54},  // Changhua County, Taiwan
	"asia-east2":              {22.32, 114.17},  // Hong Kong
	"asia-northeast1":         {35.68, 139.69},  // Tokyo
	"asia-northeast2":         {34.69, 135.50},  // Osaka
	"asia-northeast3":         {37.57, 126.98},  // Seoul
	"asia-south1":             {19.08, 72.88},   // Mumbai
	"asia-south2":             {28.61, 77.21},   // Delhi
	"asia-southeast1":         {1.35, 103.82},   // Singapore
	"asia-southeast2":         {-6.21, 106.85},  // Jakarta
	"australia-southeast1":    {-33.87, 151.21}, // Sydney
	"australia-southeast2":    {-37.81, 144.96}, // Melbourne
	"europe-central2":         {52.23, 21.01},   // Warsaw
	"europe-north1":           {60.57, 27.20},   // Hamina, Finland
	"europe-north2":           {59.33, 18.07},   // Stockholm
	"europe-southwest1":       {40.42, -3.70},   // Madrid
	"europe-west1":            {50.45, 3.82},    // St. Ghislain, Belgium
	"europe-west2":            {51.51, -0.13},   // London
	"europe-west3":            {50.11, 8.68},    // Frankfurt
	"europe-west4":            {53.44, 6.83},    // Eemshaven, Netherlands
	"europe-west6":            {47.38, 8.54},    // Zurich
	"europe-west8":            {45.46, 9.19},    // Milan
	"europe-west9":            {48.86, 2.35},    // Paris
	"europe-west10":           {52.52, 13.40},   // Berlin
	"europe-west12":           {45.07, 7.69},    // Turin
	"me-central1":             {25.29, 51.53},   // Doha
	"me-central2":             {26.43, 50.10},   // Dammam
	"me-west1":                {32.09, 34.78},   // Tel Aviv
	"northamerica-northeast1": {45.50, -73.57},  // Montréal
	"northamerica-northeast2": {43.65, -79.38},  // Toronto
	"northamerica-south1":     {20.59, -100.39}, // Querétaro
	"southamerica-east1":      {-23.55, -46.63}, // São Paulo
	"southamerica-west1":      {-33.45, -70.67}, // Santiago
	"us-central1":             {41.26, -95.86},  // Council Bluffs, Iowa
	"us-east1":                {33.20, -80.01},  // Moncks Corner, South Carolina
	"us-east4":                {39.04, -77.49},  // Ashburn, Virginia
	"us-east5":                {39.96, -83.00},  // Columbus, Ohio
	"us-south1":               {32.78, -96.80},  // Dallas
	"us-west1":                {45.60, -121.18}, // The Dalles, Oregon
	"us-west2":                {34.05, -118.24}, // Los Angeles
	"us-west3":                {40.76, -111.89}, // Salt Lake City
	"us-west4":                {36.17, -115.14}, // Las Vegas
}

// rttMeasured are approximate median round trips, in milliseconds, between
// region pairs (see the comment at the top of this file). Order within a
// pair does not matter.
var rttMeasured = map[[2]string]float64{
	{"us-central1", "europe-west1"}:             101,
	{"us-central1", "europe-west2"}:             96,
	{"us-central1", "europe-west3"}:             104,
	{"us-central1", "europe-west4"}:             106,
	{"us-central1", "us-east1"}:                 32,
	{"us-central1", "us-east4"}:                 26,
	{"us-central1", "us-west1"}:                 36,
	{"us-central1", "us-west2"}:                 44,
	{"us-central1", "asia-east1"}:               153,
	{"us-central1", "asia-northeast1"}:          134,
	{"us-central1", "asia-southeast1"}:          200,
	{"us-central1", "australia-southeast1"}:     175,
	{"us-central1", "southamerica-east1"}:       145,
	{"us-east1", "europe-west1"}:                92,
	{"us-east4", "europe-west1"}:                78,
	{"us-east4", "europe-west2"}:                74,
	{"us-east1", "southamerica-east1"}:          116,
	{"us-west1", "asia-northeast1"}:             89,
	{"us-west1", "asia-east1"}:                  118,
	{"europe-west1", "europe-west2"}:            7,
	{"europe-west1", "europe-west3"}:            8,
	{"europe-west1", "europe-west4"}:            7,
	{"europe-west1", "europe-north1"}:           31,
	{"europe-west1", "asia-south1"}:             125,
	{"europe-west1", "asia-east1"}:              250,
	{"europe-west1", "asia-southeast1"}:         160,
	{"europe-west1", "me-west1"}:                58,
	{"asia-east1", "asia-northeast1"}:           40,
	{"asia-east1", "asia-southeast1"}:           50,
	{"asia-southeast1", "australia-southeast1"}: 92,
}

// RegionRTT returns the approximate round-trip time between two Google
// Cloud regions (about 1 ms within one region), and false if either is not
// a region the simulator knows.
func RegionRTT(a, b string) (time.Duration, bool) {
	sa, okA := regionSites[a]
	sb, okB := regionSites[b]
	if !okA || !okB {
		return 0, false
	}
	if a == b {
		return time.Millisecond, true
	}
	ms, ok := rttMeasured[[2]string{a, b}]
	if !ok {
		ms, ok = rttMeasured[[2]string{b, a}]
	}
	if !ok {
		ms = 2 + 2*1.4*greatCircleKm(sa, sb)/200
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// KnownRegion reports whether RegionRTT knows region.
func KnownRegion(region string) bool {
	_, ok := regionSites[region]
	return ok
}

// greatCircleKm is the haversine distance between two latitude/longitude
// points in degrees.
func greatCircleKm(a, b [2]float64) float64 {
	const earthKm = 6371
	rad := math.Pi / 180
	dLat := (b[0] - a[0]) * rad
	dLon := (b[1] - a[1]) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a[0]*rad)*math.Cos(b[0]*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthKm * math.Asin(math.Sqrt(h))
}
