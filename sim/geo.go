package sim

import "math"

// earthRadiusNM is the mean Earth radius; great-circle distances in nautical miles are angles times this.
const earthRadiusNM = 3440.065

// vec3 is a point on the unit sphere. Flights interpolate between unit vectors rather than latitudes and
// longitudes so that a route never needs special cases at the poles or the antimeridian.
type vec3 [3]float64

func unit(latDeg, lonDeg float64) vec3 {
	lat, lon := latDeg*math.Pi/180, lonDeg*math.Pi/180
	cl := math.Cos(lat)
	return vec3{cl * math.Cos(lon), cl * math.Sin(lon), math.Sin(lat)}
}

func dot(a, b vec3) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// angle is the central angle between two unit vectors, accurate for both tiny and large separations (acos
// loses precision near 0, which short hops need).
func angle(a, b vec3) float64 {
	cx := a[1]*b[2] - a[2]*b[1]
	cy := a[2]*b[0] - a[0]*b[2]
	cz := a[0]*b[1] - a[1]*b[0]
	return math.Atan2(math.Sqrt(cx*cx+cy*cy+cz*cz), dot(a, b))
}

// distanceNM is the great-circle distance between two positions given in degrees.
func distanceNM(lat1, lon1, lat2, lon2 float64) float64 {
	return angle(unit(lat1, lon1), unit(lat2, lon2)) * earthRadiusNM
}

// greatCircle is a route from a to b, precomputed once per flight so that each cycle costs two sines, an
// arcsine and two arctangents.
type greatCircle struct {
	a, b  vec3
	theta float64 // central angle, radians
	sinT  float64
}

func newGreatCircle(a, b vec3) greatCircle {
	t := angle(a, b)
	return greatCircle{a: a, b: b, theta: t, sinT: math.Sin(t)}
}

// at returns the position a fraction f of the way along the route (latitude, longitude in degrees) and the
// course towards b there (degrees, [0, 360]: rounding can yield 360, which the real feed also shows).
func (g *greatCircle) at(f float64) (lat, lon, course float64) {
	var p vec3
	if g.sinT < 1e-12 {
		p = g.a
	} else {
		wa := math.Sin((1-f)*g.theta) / g.sinT
		wb := math.Sin(f*g.theta) / g.sinT
		p = vec3{wa*g.a[0] + wb*g.b[0], wa*g.a[1] + wb*g.b[1], wa*g.a[2] + wb*g.b[2]}
	}
	z := math.Max(-1, math.Min(1, p[2]))
	lat = math.Asin(z) * 180 / math.Pi
	lon = math.Atan2(p[1], p[0]) * 180 / math.Pi

	// The course is the direction of b's projection onto the tangent plane at p, measured from north.
	cosLat := math.Sqrt(p[0]*p[0] + p[1]*p[1])
	if cosLat < 1e-12 {
		return lat, lon, 0
	}
	sinLon, cosLon := p[1]/cosLat, p[0]/cosLat
	k := dot(p, g.b)
	t := vec3{g.b[0] - k*p[0], g.b[1] - k*p[1], g.b[2] - k*p[2]}
	east := -sinLon*t[0] + cosLon*t[1]
	north := -z*cosLon*t[0] - z*sinLon*t[1] + cosLat*t[2]
	course = math.Atan2(east, north) * 180 / math.Pi
	if course < 0 {
		course += 360
	}
	return lat, lon, course
}

// round5 keeps five decimals, as the feed does for positions (about a metre).
// Zero is returned as +0 so that a position never prints as -0.
func round5(x float64) float64 {
	r := math.Round(x*1e5) / 1e5
	if r == 0 {
		return 0
	}
	return r
}

// round2 keeps two decimals, as altimeter settings in inches of mercury have.
func round2(x float64) float64 { return math.Round(x*100) / 100 }
