"""Countries, the EU/EEA groups, and the cloud regions a policy may name.

Region tables list each provider's public region names with the country where the data
centres are (not the marketing name: ``aws:eu-west-2`` is London, ``gcp:europe-west6``
is Zurich). Azure rows also carry the short region id used in the Service Tags file
(``germanywestcentral`` -> ``germanywc``). Sources: the providers' published range files
(Azure Service Tags, AWS ip-ranges.json, Google cloud.json, Oracle public_ip_ranges.json)
and their region documentation; see docs/policy.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

EU_COUNTRIES: frozenset[str] = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
EEA_COUNTRIES: frozenset[str] = EU_COUNTRIES | {"IS", "LI", "NO"}
COUNTRY_GROUPS: dict[str, frozenset[str]] = {"EU": EU_COUNTRIES, "EEA": EEA_COUNTRIES}

PROVIDERS = ("azure", "aws", "gcp", "oci")


@dataclass(frozen=True)
class CloudRegion:
    provider: str
    name: str
    country: str
    city: str
    tag_id: str = ""  # Azure Service Tags short region id, when it differs from the name

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.name}"


# provider -> "name country city [service-tag-id]" rows
_REGION_ROWS: dict[str, str] = {
    "azure": """
eastus US Virginia
eastus2 US Virginia
centralus US Iowa
northcentralus US Illinois
southcentralus US Texas
westcentralus US Wyoming
westus US California
westus2 US Washington
westus3 US Arizona
canadacentral CA Toronto
canadaeast CA Quebec
brazilsouth BR Sao-Paulo
brazilsoutheast BR Rio-de-Janeiro brazilse
mexicocentral MX Queretaro
chilecentral CL Santiago chilec
northeurope IE Dublin
westeurope NL Amsterdam
francecentral FR Paris centralfrance
francesouth FR Marseille southfrance
germanywestcentral DE Frankfurt germanywc
germanynorth DE Berlin germanyn
swedencentral SE Gavle
swedensouth SE Malmo
italynorth IT Milan
spaincentral ES Madrid
polandcentral PL Warsaw
austriaeast AT Vienna
belgiumcentral BE Brussels
denmarkeast DK Copenhagen
norwayeast NO Oslo norwaye
norwaywest NO Stavanger norwayw
switzerlandnorth CH Zurich switzerlandn
switzerlandwest CH Geneva switzerlandw
uksouth GB London
ukwest GB Cardiff
uaenorth AE Dubai
uaecentral AE Abu-Dhabi
qatarcentral QA Doha
israelcentral IL Israel
southafricanorth ZA Johannesburg
southafricawest ZA Cape-Town
centralindia IN Pune
southindia IN Chennai
westindia IN Mumbai
jioindiawest IN Jamnagar
jioindiacentral IN Nagpur
eastasia HK Hong-Kong
southeastasia SG Singapore
japaneast JP Tokyo
japanwest JP Osaka
koreacentral KR Seoul
koreasouth KR Busan
australiaeast AU Sydney
australiasoutheast AU Melbourne
australiacentral AU Canberra
australiacentral2 AU Canberra
newzealandnorth NZ Auckland
indonesiacentral ID Jakarta
malaysiawest MY Kuala-Lumpur
taiwannorth TW Taipei
""",
    "aws": """
us-east-1 US Virginia
us-east-2 US Ohio
us-west-1 US California
us-west-2 US Oregon
us-gov-east-1 US Ohio
us-gov-west-1 US Oregon
ca-central-1 CA Montreal
ca-west-1 CA Calgary
mx-central-1 MX Queretaro
sa-east-1 BR Sao-Paulo
eu-central-1 DE Frankfurt
eusc-de-east-1 DE Brandenburg
eu-central-2 CH Zurich
eu-west-1 IE Dublin
eu-west-2 GB London
eu-west-3 FR Paris
eu-south-1 IT Milan
eu-south-2 ES Aragon
eu-north-1 SE Stockholm
il-central-1 IL Tel-Aviv
me-south-1 BH Bahrain
me-central-1 AE UAE
me-west-1 SA Saudi-Arabia
af-south-1 ZA Cape-Town
ap-east-1 HK Hong-Kong
ap-east-2 TW Taipei
ap-south-1 IN Mumbai
ap-south-2 IN Hyderabad
ap-southeast-1 SG Singapore
ap-southeast-2 AU Sydney
ap-southeast-3 ID Jakarta
ap-southeast-4 AU Melbourne
ap-southeast-5 MY Malaysia
ap-southeast-6 NZ Auckland
ap-southeast-7 TH Thailand
ap-northeast-1 JP Tokyo
ap-northeast-2 KR Seoul
ap-northeast-3 JP Osaka
cn-north-1 CN Beijing
cn-northwest-1 CN Ningxia
""",
    "gcp": """
europe-west1 BE St-Ghislain
europe-west2 GB London
europe-west3 DE Frankfurt
europe-west4 NL Eemshaven
europe-west6 CH Zurich
europe-west8 IT Milan
europe-west9 FR Paris
europe-west10 DE Berlin
europe-west12 IT Turin
europe-central2 PL Warsaw
europe-north1 FI Hamina
europe-north2 SE Stockholm
europe-southwest1 ES Madrid
us-central1 US Iowa
us-central2 US Oklahoma
us-east1 US South-Carolina
us-east4 US Virginia
us-east5 US Ohio
us-east7 US Alabama
us-south1 US Texas
us-west1 US Oregon
us-west2 US California
us-west3 US Utah
us-west4 US Nevada
us-west8 US Arizona
northamerica-northeast1 CA Montreal
northamerica-northeast2 CA Toronto
northamerica-south1 MX Queretaro
southamerica-east1 BR Sao-Paulo
southamerica-west1 CL Santiago
me-central1 QA Doha
me-central2 SA Dammam
me-west1 IL Tel-Aviv
africa-south1 ZA Johannesburg
asia-east1 TW Changhua
asia-east2 HK Hong-Kong
asia-northeast1 JP Tokyo
asia-northeast2 JP Osaka
asia-northeast3 KR Seoul
asia-south1 IN Mumbai
asia-south2 IN Delhi
asia-southeast1 SG Singapore
asia-southeast2 ID Jakarta
australia-southeast1 AU Sydney
australia-southeast2 AU Melbourne
""",
    "oci": """
eu-amsterdam-1 NL Amsterdam
eu-frankfurt-1 DE Frankfurt
eu-madrid-1 ES Madrid
eu-marseille-1 FR Marseille
eu-milan-1 IT Milan
eu-paris-1 FR Paris
eu-stockholm-1 SE Stockholm
eu-zurich-1 CH Zurich
eu-jovanovac-1 RS Jovanovac
uk-cardiff-1 GB Cardiff
uk-london-1 GB London
us-ashburn-1 US Ashburn
us-phoenix-1 US Phoenix
us-sanjose-1 US San-Jose
us-chicago-1 US Chicago
us-abilene-1 US Abilene
us-boardman-1 US Boardman
us-dallas-1 US Dallas
us-saltlake-2 US Salt-Lake-City
ca-montreal-1 CA Montreal
ca-toronto-1 CA Toronto
mx-queretaro-1 MX Queretaro
mx-monterrey-1 MX Monterrey
sa-saopaulo-1 BR Sao-Paulo
sa-vinhedo-1 BR Vinhedo
sa-santiago-1 CL Santiago
sa-valparaiso-1 CL Valparaiso
sa-bogota-1 CO Bogota
il-jerusalem-1 IL Jerusalem
me-dubai-1 AE Dubai
me-abudhabi-1 AE Abu-Dhabi
me-jeddah-1 SA Jeddah
me-riyadh-1 SA Riyadh
af-johannesburg-1 ZA Johannesburg
ap-mumbai-1 IN Mumbai
ap-hyderabad-1 IN Hyderabad
ap-singapore-1 SG Singapore
ap-singapore-2 SG Singapore
ap-batam-1 ID Batam
ap-tokyo-1 JP Tokyo
ap-osaka-1 JP Osaka
ap-seoul-1 KR Seoul
ap-chuncheon-1 KR Chuncheon
ap-sydney-1 AU Sydney
ap-melbourne-1 AU Melbourne
""",
}


@cache
def cloud_regions() -> dict[str, CloudRegion]:
    """Every known region, keyed ``provider:name``."""
    table: dict[str, CloudRegion] = {}
    for provider, rows in _REGION_ROWS.items():
        for row in rows.strip().splitlines():
            parts = row.split()
            tag = parts[3] if len(parts) > 3 else ""
            region = CloudRegion(provider, parts[0], parts[1], parts[2].replace("-", " "), tag)
            table[region.key] = region
    return table


def lookup_region(key: str) -> CloudRegion | None:
    """``azure:germanywestcentral`` -> its region row, or None."""
    return cloud_regions().get(key.strip().lower())


@cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English short name (from pycountry's ISO data)."""
    import pycountry

    return {c.alpha_2: c.name for c in pycountry.countries}


def is_country(code: str) -> bool:
    return code in country_names()


def expand_countries(codes: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """Expand the groups EU and EEA into their member codes."""
    out: set[str] = set()
    for code in codes:
        out |= COUNTRY_GROUPS.get(code, frozenset({code}))
    return frozenset(out)


def country_label(code: str) -> str:
    name = country_names().get(code)
    return f"{code} ({name})" if name else code


# --- where a deployment may process prompts -------------------------------------------------
# Azure OpenAI / AI Foundry deployment types: "Standard"/"Provisioned" process in the deployment's
# region; "DataZone" anywhere in the Microsoft-specified data zone of that region (EU member
# nations, or the United States); "Global" in any region of the provider. Source:
# https://learn.microsoft.com/azure/ai-foundry/foundry-models/concepts/deployment-types
DATA_ZONES: dict[str, frozenset[str]] = {"EU": EU_COUNTRIES, "US": frozenset({"US"})}
WORLDWIDE = 150  # a zone that spans (nearly) every country is no residency constraint


def data_zone_of(country: str) -> str | None:
    """The provider data zone a country's regions belong to (``EU``, ``US``), or None."""
    for name, members in DATA_ZONES.items():
        if country in members:
            return name
    return None


@dataclass(frozen=True)
class DeploymentProblem:
    """Why an endpoint's deployment type may process prompts outside the allowed countries.
    ``undetermined``: the tool cannot tell where (never a pass); else it may be outside."""

    undetermined: bool
    message: str
    hint: str


def deployment_problem(
    deployment: str | None, region_key: str | None, allowed: frozenset[str]
) -> DeploymentProblem | None:
    """The one rule for ``endpoints[].deployment`` (policy validate and the residency verdict)."""
    if deployment in (None, "regional") or len(allowed) >= WORLDWIDE:
        return None
    if deployment == "global":
        return DeploymentProblem(
            False,
            "a 'global' deployment may process prompts in any region of the provider, outside the allowed countries",
            "use a regional or data-zone deployment inside the zone (e.g. Azure OpenAI 'DataZone EU' or 'Standard')",
        )
    region = lookup_region(region_key) if region_key else None
    if region is None:
        return DeploymentProblem(
            True,
            "a 'datazone' deployment without a known cloud region: which data zone processes the prompts "
            "(EU or US) cannot be told",
            "declare the endpoint's region (e.g. region: azure:swedencentral)",
        )
    zone = data_zone_of(region.country)
    if zone is None:
        return DeploymentProblem(
            True,
            f"region '{region_key}' ({region.country}) belongs to no provider data zone known here (EU, US): "
            "where a 'datazone' deployment processes prompts cannot be told",
            "use a regional deployment ('Standard'), or a data-zone deployment in an EU region",
        )
    outside = sorted(DATA_ZONES[zone] - allowed)
    if outside:
        shown = ", ".join(outside[:6]) + (f" and {len(outside) - 6} more" if len(outside) > 6 else "")
        return DeploymentProblem(
            False,
            f"a 'datazone' deployment in '{region_key}' may process prompts anywhere in the {zone} data zone, "
            f"including {shown}, outside the allowed countries",
            "use a regional deployment ('Standard') inside the zone, or allow the whole data zone",
        )
    return None
