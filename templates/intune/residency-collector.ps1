# mistral-sov residency collector @@SCRIPT_VERSION@@ (@@MODE@@ variant), generated for @@ORGANIZATION@@.
# Resolves every approved endpoint, traces the path (tracert -d, per-hop RTTs), tests a TCP
# connection to the endpoint's port, and prints ONE compact JSON line last
# (schema mistral-sov-collector/1: residency-collector.schema.json). It collects; it never
# judges: it always exits 0. Judge the results with `mistral-sov verify-residency --from-fleet`.
# Windows PowerShell 5.1, no modules to install, no dynamic code (sign it as is).
# Do not edit: regenerate with `mistral-sov policy export --format fleet`.

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'

$Mode = '@@MODE@@'
$ScriptVersion = '@@SCRIPT_VERSION@@'
$Budget = @@BUDGET@@
$MaxHops = @@MAX_HOPS@@
$HopTimeoutMs = @@HOP_TIMEOUT_MS@@
$TcpTimeoutMs = @@TCP_TIMEOUT_MS@@
# An HTTPS URL of your own that answers with the caller's public address as plain text
# (empty: the public egress address is not recorded; no third-party service is ever asked).
$EgressEchoUrl = @@EGRESS_URL@@
# GPO variant: where the full (unabbreviated) JSON line is appended.
$ResultFile = @@RESULT_FILE@@
$ResultShare = @@RESULT_SHARE@@

$HopLine = '@@HOP_LINE_PATTERN@@'
$RttCell = '@@RTT_PATTERN@@'
$AddressPattern = '@@ADDRESS_PATTERN@@'
$Steps = @('rtt-min', 'cname', 'lan', 'addrs')

$Endpoints = @(
@@ENDPOINTS@@
)

function ConvertTo-JsonText([string]$Text) {
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('"')
    foreach ($ch in $Text.ToCharArray()) {
        $code = [int]$ch
        if ($ch -eq '"') { [void]$sb.Append('\"') }
        elseif ($ch -eq '\') { [void]$sb.Append('\\') }
        elseif ($code -lt 32) { [void]$sb.Append('\u' + $code.ToString('x4')) }
        else { [void]$sb.Append($ch) }
    }
    [void]$sb.Append('"')
    return $sb.ToString()
}

function ConvertTo-JsonList($Items) {
    $parts = New-Object 'System.Collections.Generic.List[string]'
    foreach ($i in $Items) { $parts.Add((ConvertTo-JsonText ([string]$i))) }
    return '[' + ($parts -join ',') + ']'
}

function Limit-Text([string]$Text, [int]$Length) {
    if ($null -eq $Text) { return '' }
    if ($Text.Length -gt $Length) { return $Text.Substring(0, $Length) }
    return $Text
}

function Test-PrivateAddress([string]$Address) {
    $ip = $null
    if (-not [System.Net.IPAddress]::TryParse($Address, [ref]$ip)) { return $false }
    $b = $ip.GetAddressBytes()
    if ($b.Length -eq 4) {
        if ($b[0] -eq 10 -or $b[0] -eq 127) { return $true }
        if ($b[0] -eq 172 -and $b[1] -ge 16 -and $b[1] -le 31) { return $true }
        if ($b[0] -eq 192 -and $b[1] -eq 168) { return $true }
        if ($b[0] -eq 169 -and $b[1] -eq 254) { return $true }
        if ($b[0] -eq 100 -and $b[1] -ge 64 -and $b[1] -le 127) { return $true }
        return $false
    }
    if (($b[0] -band 0xFE) -eq 0xFC) { return $true }
    if ($b[0] -eq 0xFE -and ($b[1] -band 0xC0) -eq 0x80) { return $true }
    return $ip.Equals([System.Net.IPAddress]::IPv6Loopback)
}

function Get-SiteHints {
    $site = [ordered]@{}
    try {
        $netlogon = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\Netlogon\Parameters' -ErrorAction Stop
        $name = $netlogon.DynamicSiteName
        if (-not $name) { $name = $netlogon.SiteName }
        if ($name) { $site['ad'] = Limit-Text (([string]$name).Trim()) 64 }
    } catch { }
    try {
        $route = Get-NetRoute -DestinationPrefix '0.0.0.0/0' -ErrorAction Stop |
            Sort-Object -Property RouteMetric |
            Select-Object -First 1
        if ($route) { $site['gw'] = [string]$route.NextHop }
    } catch { }
    if ($EgressEchoUrl) {
        try {
            $answer = Invoke-RestMethod -Uri $EgressEchoUrl -UseBasicParsing -TimeoutSec 5 -ErrorAction Stop
            $text = ([string]$answer).Trim()
            $ip = $null
            if ([System.Net.IPAddress]::TryParse($text, [ref]$ip)) { $site['eg'] = $ip.ToString() }
        } catch { }
    }
    return $site
}

function Resolve-Endpoint([string]$HostName) {
    $result = @{ Chain = New-Object 'System.Collections.Generic.List[string]'; Addresses = New-Object 'System.Collections.Generic.List[string]'; Error = '' }
    $literal = $null
    if ([System.Net.IPAddress]::TryParse($HostName, [ref]$literal)) {
        $result.Addresses.Add($literal.ToString())
        return $result
    }
    foreach ($type in @('A', 'AAAA')) {
        try {
            $records = Resolve-DnsName -Name $HostName -Type $type -DnsOnly -ErrorAction Stop
            foreach ($r in $records) {
                if ($r.Section -ne 'Answer') { continue }
                if ($r.Type -eq 'CNAME') {
                    $target = ([string]$r.NameHost).TrimEnd('.').ToLowerInvariant()
                    if (-not $result.Chain.Contains($target)) { $result.Chain.Add($target) }
                } elseif ($r.Type -eq 'A' -or $r.Type -eq 'AAAA') {
                    $address = [string]$r.IPAddress
                    if (-not $result.Addresses.Contains($address)) { $result.Addresses.Add($address) }
                }
            }
        } catch {
            if ($type -eq 'A') { $result.Error = 'dns: ' + (Limit-Text $_.Exception.Message 120) }
        }
    }
    if ($result.Addresses.Count -gt 0) { $result.Error = '' }
    return $result
}

function Get-TracePath([string]$Address) {
    # tracert -d prints one line per hop in the display language of the machine; only the
    # TTL, the RTT cells ("12 ms", "<1 ms", "*") and the address are read.
    $hops = New-Object 'System.Collections.Generic.List[object]'
    $lines = & "$env:SystemRoot\System32\tracert.exe" -d -h $MaxHops -w $HopTimeoutMs $Address 2>$null
    foreach ($line in $lines) {
        $m = [regex]::Match([string]$line, $HopLine)
        if (-not $m.Success) { continue }
        $rest = $m.Groups[2].Value
        $rtts = New-Object 'System.Collections.Generic.List[string]'
        $consumed = 0
        foreach ($cell in [regex]::Matches($rest, $RttCell)) {
            if ($rest.Substring($consumed, $cell.Index - $consumed).Trim()) { break }
            if ($cell.Value -eq '*') { $rtts.Add('*') }
            else {
                $value = $cell.Groups[1].Value.Replace(' ', '')
                if ($value.StartsWith('<')) { $rtts.Add('0') } else { $rtts.Add([string][int]$value) }
            }
            $consumed = $cell.Index + $cell.Length
            if ($rtts.Count -eq 3) { break }
        }
        if ($rtts.Count -eq 0) { continue }
        $hopAddress = $null
        foreach ($am in [regex]::Matches($rest.Substring($consumed), $AddressPattern)) {
            $parsed = $null
            $candidate = $am.Groups[1].Value.Split('%')[0]
            if ([System.Net.IPAddress]::TryParse($candidate, [ref]$parsed)) { $hopAddress = $parsed.ToString() }
        }
        $hops.Add(@{ Address = $hopAddress; Rtts = $rtts })
    }
    return ,$hops
}

function Test-TcpPort([string]$Address, [int]$Port) {
    $client = New-Object System.Net.Sockets.TcpClient
    try {
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $pending = $client.BeginConnect($Address, $Port, $null, $null)
        if (-not $pending.AsyncWaitHandle.WaitOne($TcpTimeoutMs)) { return -1 }
        $client.EndConnect($pending)
        $watch.Stop()
        return [int]$watch.ElapsedMilliseconds
    } catch {
        return -1
    } finally {
        $client.Close()
    }
}

function Format-Path($Hops, [bool]$MinOnly, [bool]$SkipLan) {
    $parts = New-Object 'System.Collections.Generic.List[string]'
    $dropped = 0
    $leading = $SkipLan
    $silent = 0
    foreach ($hop in $Hops) {
        if ($leading -and ($null -eq $hop.Address -or (Test-PrivateAddress $hop.Address))) { $dropped++; continue }
        $leading = $false
        if ($null -eq $hop.Address) { $silent++; continue }
        if ($silent -eq 1) { $parts.Add('*') } elseif ($silent -gt 1) { $parts.Add('*' + $silent) }
        $silent = 0
        $cells = New-Object 'System.Collections.Generic.List[string]'
        if ($MinOnly) {
            $best = $null
            foreach ($r in $hop.Rtts) { if ($r -ne '*' -and ($null -eq $best -or [int]$r -lt $best)) { $best = [int]$r } }
            if ($null -eq $best) { $cells.Add('*') } else { $cells.Add([string]$best) }
        } else {
            foreach ($r in $hop.Rtts) { $cells.Add($r) }
        }
        $parts.Add($hop.Address + '@' + ($cells -join ','))
    }
    if ($silent -eq 1) { $parts.Add('*') } elseif ($silent -gt 1) { $parts.Add('*' + $silent) }
    return @{ Text = ($parts -join '|'); Lan = $dropped }
}

function Format-Endpoint($Observation, $Applied, [bool]$PathCut) {
    $o = $Observation
    $fields = New-Object 'System.Collections.Generic.List[string]'
    $fields.Add('"n":' + (ConvertTo-JsonText $o.Name))
    $fields.Add('"h":' + (ConvertTo-JsonText $o.Host))
    $fields.Add('"p":' + $o.Port)
    if ($o.Chain.Count -gt 0 -and -not $Applied.Contains('cname')) { $fields.Add('"c":' + (ConvertTo-JsonList $o.Chain)) }
    if ($o.Addresses.Count -gt 0) {
        if ($Applied.Contains('addrs') -and $o.Traced) { $fields.Add('"a":' + (ConvertTo-JsonList @($o.Traced))) }
        else { $fields.Add('"a":' + (ConvertTo-JsonList $o.Addresses)) }
    }
    if ($o.Traced) {
        $fields.Add('"ta":' + (ConvertTo-JsonText $o.Traced))
        $fields.Add('"m":"icmp"')
        if (-not $PathCut) {
            $path = Format-Path $o.Hops $Applied.Contains('rtt-min') $Applied.Contains('lan')
            $fields.Add('"r":' + (ConvertTo-JsonText $path.Text))
            if ($path.Lan -gt 0) { $fields.Add('"l":' + $path.Lan) }
            if ($o.Reached) { $fields.Add('"ok":1') }
        }
    }
    if ($null -ne $o.Tcp) { $fields.Add('"tcp":' + $o.Tcp) }
    if ($o.Error) { $fields.Add('"err":' + (ConvertTo-JsonText (Limit-Text $o.Error 200))) }
    return '{' + ($fields -join ',') + '}'
}

function Format-Line($Device, $Time, $Site, $Observations, $Applied, $Cut, $Removed) {
    $fields = New-Object 'System.Collections.Generic.List[string]'
    $fields.Add('"k":"msov-rc"')
    $fields.Add('"v":1')
    $fields.Add('"sv":' + (ConvertTo-JsonText $ScriptVersion))
    $fields.Add('"d":' + (ConvertTo-JsonText $Device))
    $fields.Add('"t":' + (ConvertTo-JsonText $Time))
    if ($Site.Count -gt 0) {
        $siteParts = New-Object 'System.Collections.Generic.List[string]'
        foreach ($key in $Site.Keys) { $siteParts.Add((ConvertTo-JsonText $key) + ':' + (ConvertTo-JsonText $Site[$key])) }
        $fields.Add('"s":{' + ($siteParts -join ',') + '}')
    }
    $eps = New-Object 'System.Collections.Generic.List[string]'
    for ($i = 0; $i -lt $Observations.Count; $i++) {
        if ($Removed.Contains($i)) { continue }
        $eps.Add((Format-Endpoint $Observations[$i] $Applied $Cut.Contains($i)))
    }
    $fields.Add('"e":[' + ($eps -join ',') + ']')
    if ($Applied.Count -gt 0) { $fields.Add('"x":' + (ConvertTo-JsonList $Applied)) }
    return '{' + ($fields -join ',') + '}'
}

$line = ''
try {
    $device = Limit-Text $env:COMPUTERNAME 64
    $time = (Get-Date).ToUniversalTime().ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
    $site = Get-SiteHints
    $observations = New-Object 'System.Collections.Generic.List[object]'
    foreach ($ep in $Endpoints) {
        $dns = Resolve-Endpoint $ep.Host
        $o = @{ Name = $ep.Name; Host = $ep.Host; Port = $ep.Port; Chain = $dns.Chain; Addresses = $dns.Addresses
            Traced = $null; Hops = @(); Reached = $false; Tcp = $null; Error = $dns.Error }
        if ($dns.Addresses.Count -gt 0) {
            $o.Traced = $dns.Addresses[0]
            $o.Hops = Get-TracePath $o.Traced
            foreach ($hop in $o.Hops) { if ($hop.Address -eq $o.Traced) { $o.Reached = $true } }
            $o.Tcp = Test-TcpPort $o.Traced $ep.Port
            if ($o.Hops.Count -eq 0) { $o.Error = 'tracert printed no hop' }
        }
        $observations.Add($o)
    }
    $applied = New-Object 'System.Collections.Generic.List[string]'
    $cut = New-Object 'System.Collections.Generic.HashSet[int]'
    $removed = New-Object 'System.Collections.Generic.HashSet[int]'
    $line = Format-Line $device $time $site $observations $applied $cut $removed
    if ($Mode -eq 'gpo') {
        $full = $line
        try {
            if ($ResultFile) {
                $folder = Split-Path -Parent $ResultFile
                if (-not (Test-Path -LiteralPath $folder)) { New-Item -ItemType Directory -Path $folder -Force | Out-Null }
                Add-Content -LiteralPath $ResultFile -Value $full -Encoding UTF8
            }
            if ($ResultShare) {
                Set-Content -LiteralPath (Join-Path $ResultShare ($device + '.json')) -Value $full -Encoding UTF8
            }
        } catch { }
    }
    foreach ($step in $Steps) {
        if ($line.Length -le $Budget) { break }
        $applied.Add($step)
        $line = Format-Line $device $time $site $observations $applied $cut $removed
    }
    for ($i = $observations.Count - 1; $i -ge 0 -and $line.Length -gt $Budget; $i--) {
        if (-not $observations[$i].Traced) { continue }
        [void]$cut.Add($i)
        $applied.Add('path:' + $i)
        $line = Format-Line $device $time $site $observations $applied $cut $removed
    }
    for ($i = $observations.Count - 1; $i -ge 0 -and $line.Length -gt $Budget; $i--) {
        [void]$removed.Add($i)
        $applied.Add('ep:' + $i)
        $line = Format-Line $device $time $site $observations $applied $cut $removed
    }
} catch {
    $line = '{"k":"msov-rc","v":1,"sv":' + (ConvertTo-JsonText $ScriptVersion) + ',"d":' + (ConvertTo-JsonText ([string]$env:COMPUTERNAME)) + ',"t":"","e":[],"fail":' + (ConvertTo-JsonText (Limit-Text $_.Exception.Message 300)) + '}'
}
Write-Output $line
exit 0
