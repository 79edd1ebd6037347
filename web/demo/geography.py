"""A real metro region: Dallas-Fort Worth towns with their approximate centres and a region."""

from __future__ import annotations

#: (town, latitude, longitude, region)
TOWNS: tuple[tuple[str, float, float, str], ...] = (
    ("Dallas", 32.7767, -96.7970, "Dallas"),
    ("Dallas Uptown", 32.8020, -96.8010, "Dallas"),
    ("Oak Cliff", 32.7280, -96.8350, "Dallas"),
    ("Lake Highlands", 32.8830, -96.7180, "Dallas"),
    ("Fort Worth", 32.7555, -97.3308, "Fort Worth"),
    ("Fort Worth Alliance", 32.9420, -97.3160, "Fort Worth"),
    ("Benbrook", 32.6732, -97.4606, "Fort Worth"),
    ("Weatherford", 32.7593, -97.7972, "Fort Worth"),
    ("Burleson", 32.5421, -97.3208, "Fort Worth"),
    ("Arlington", 32.7357, -97.1081, "Mid-Cities"),
    ("Grand Prairie", 32.7459, -96.9978, "Mid-Cities"),
    ("Irving", 32.8140, -96.9489, "Mid-Cities"),
    ("Euless", 32.8371, -97.0820, "Mid-Cities"),
    ("Grapevine", 32.9343, -97.0781, "Mid-Cities"),
    ("Keller", 32.9346, -97.2517, "Mid-Cities"),
    ("Southlake", 32.9412, -97.1342, "Mid-Cities"),
    ("Mansfield", 32.5632, -97.1417, "South"),
    ("Cedar Hill", 32.5885, -96.9561, "South"),
    ("Duncanville", 32.6518, -96.9083, "South"),
    ("Waxahachie", 32.3866, -96.8483, "South"),
    ("Lancaster", 32.5921, -96.7561, "South"),
    ("Plano", 33.0198, -96.6989, "North"),
    ("Frisco", 33.1507, -96.8236, "North"),
    ("McKinney", 33.1972, -96.6398, "North"),
    ("Allen", 33.1032, -96.6706, "North"),
    ("Richardson", 32.9483, -96.7299, "North"),
    ("Carrollton", 32.9537, -96.8903, "North"),
    ("Lewisville", 33.0462, -96.9942, "North"),
    ("Flower Mound", 33.0146, -97.0970, "North"),
    ("Coppell", 32.9546, -97.0150, "North"),
    ("Denton", 33.2148, -97.1331, "North"),
    ("Garland", 32.9126, -96.6389, "East"),
    ("Mesquite", 32.7668, -96.5992, "East"),
    ("Rowlett", 32.9029, -96.5639, "East"),
    ("Rockwall", 32.9312, -96.4597, "East"),
    ("Wylie", 33.0151, -96.5389, "East"),
    ("Forney", 32.7482, -96.4719, "East"),
)

STREETS = (
    "Main St", "Elm St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pecan St", "Live Oak St",
    "Preston Rd", "Beltline Rd", "Park Blvd", "Camp Bowie Blvd", "Mockingbird Ln",
    "Greenville Ave", "Lovers Ln", "Hillcrest Rd", "Coit Rd", "Josey Ln", "Davis Blvd",
    "Cooper St", "Collins St", "Bluebonnet Dr", "Magnolia Ave", "Travis St", "Bowie St",
)

FIRST_NAMES = (
    "James", "Maria", "Robert", "Linda", "Michael", "Sofia", "David", "Aisha", "Carlos",
    "Emily", "Daniel", "Grace", "Luis", "Hannah", "Kevin", "Priya", "Marcus", "Olivia",
    "Jorge", "Chloe", "Anthony", "Mei", "Tyrone", "Rachel", "Andre", "Fatima", "Brian",
    "Lauren", "Hector", "Nina", "Derek", "Vanessa", "Omar", "Tanya", "Ethan", "Rosa",
)
LAST_NAMES = (
    "Garcia", "Johnson", "Nguyen", "Smith", "Martinez", "Brown", "Davis", "Lopez", "Wilson",
    "Anderson", "Thomas", "Hernandez", "Moore", "Patel", "Jackson", "White", "Harris",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "King", "Wright", "Scott", "Torres",
    "Hill", "Green", "Adams", "Baker", "Nelson", "Rivera", "Campbell", "Mitchell", "Reyes",
)

SKILLS = ("hvac", "plumbing", "electrical", "appliance", "refrigeration", "locksmith", "gas")

JOB_TEMPLATES: tuple[tuple[str, str | None, int], ...] = (
    ("No cooling from rooftop unit", "hvac", 120),
    ("Furnace will not ignite", "gas", 90),
    ("Thermostat replacement", "hvac", 45),
    ("Leaking water heater", "plumbing", 90),
    ("Clogged main drain", "plumbing", 60),
    ("Walk-in cooler above temperature", "refrigeration", 120),
    ("Ice machine not producing", "refrigeration", 75),
    ("Breaker trips repeatedly", "electrical", 60),
    ("Install outdoor lighting", "electrical", 150),
    ("Dishwasher not draining", "appliance", 45),
    ("Dryer overheating", "appliance", 60),
    ("Rekey storefront locks", "locksmith", 40),
    ("Annual maintenance visit", None, 60),
    ("Safety inspection", None, 30),
    ("Replace air filters", None, 30),
)

VAN_MODELS = ("Ford Transit 250", "Ram ProMaster 2500", "Mercedes Sprinter 2500", "Ford E-350")
