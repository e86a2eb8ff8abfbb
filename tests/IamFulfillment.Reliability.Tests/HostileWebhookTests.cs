using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using IamFulfillment.Reliability.Tests.Infrastructure;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Sandbox.ServiceNow;
using IamFulfillment.Testing;
using Xunit.Abstractions;

namespace IamFulfillment.Reliability.Tests;

/// <summary>
/// Malformed and hostile webhook deliveries, generated from a fixed seed, against both routes of the standalone host:
/// every one is refused with a 4xx (never a 5xx, never accepted), nothing reaches the queue or the ITSMs, and the
/// host still takes a genuine delivery afterwards. Many cases are signed with the real secret, so they get past the
/// signature check and test the parser and the field checks behind it; others go over a raw socket, for what an
/// HTTP client refuses to send (header injection, repeated headers, bytes that are not text).
/// </summary>
public sealed class HostileWebhookTests(ITestOutputHelper output)
{
    private const int Seed = 20261126;

    [Fact]
    public async Task TenThousandMalformedOrHostileDeliveries_AreAllRefusedWith4xx_NothingIsQueued_AndTheHostStaysUp()
    {
        await using var s = await Scenario.StartAsync();
        var cases = new HostileCases(s.World, new Random(Seed)).Generate(Heavy.Scale(10_000, 50_000)).ToList();
        var answers = new (HostileCase Case, int Status, string? Error)[cases.Count];

        var clock = Stopwatch.StartNew();
        var next = -1;
        using var http = new HttpClient { BaseAddress = s.Host.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < cases.Count)
            {
                var c = cases[i];
                try
                {
                    answers[i] = (c, c.Raw is not null ? await SendRawAsync(http.BaseAddress!, c.Raw) : await SendAsync(http, c), null);
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException or TaskCanceledException)
                {
                    answers[i] = (c, 0, ex.GetType().Name + ": " + ex.Message);
                }
            }
        }));
        clock.Stop();

        var byStatus = answers.GroupBy(a => a.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}");
        var byKind = answers.GroupBy(a => a.Case.Kind).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count()} [{string.Join(",", g.Select(a => a.Status).Distinct().Order())}]");
        output.WriteLine($"{cases.Count} hostile deliveries (seed {Seed}) in {clock.Elapsed.TotalSeconds:0.0} s ({cases.Count / clock.Elapsed.TotalSeconds:0} per s)");
        output.WriteLine("answers: " + string.Join(", ", byStatus));
        output.WriteLine("kinds: " + string.Join("; ", byKind));

        var wrong = answers.Where(a => a.Status is < 400 or > 499).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} deliveries not answered with a 4xx:\n" + string.Join("\n", wrong.Take(20).Select(a => $"{a.Status} {a.Error} {a.Case}")));

        using var probe = new StorageProbe(Settings.Of(s.Host));
        Assert.Equal(0, await probe.QueuedAsync());
        Assert.Equal(0, await probe.TicketRowsAsync());
        Assert.Empty(s.World.ServiceNow.Calls);
        Assert.Empty(s.World.Jira!.Calls);

        // Still up, and still doing its job.
        using (var health = await http.GetAsync("/api/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        var genuine = Tickets.ServiceNowGrant(s.World, Tickets.NewEmployee(s.World));
        using var accepted = await Tickets.SendAsync(http, Tickets.Delivery(s.World, genuine));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        await ExactlyOnce.WaitForAllAsync(s.Host.Store, probe.QueuedAsync, [genuine], TimeSpan.FromSeconds(60));
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [genuine]);
    }

    private static async Task<int> SendAsync(HttpClient http, HostileCase c)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, c.Path);
        HttpContent content = c.Chunked ? new StreamContent(new MemoryStream(c.Body)) : new ByteArrayContent(c.Body);
        if (c.ContentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
        }

        request.Content = content;
        foreach (var (name, value) in c.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request);
        return (int)response.StatusCode;
    }

    /// <summary>Writes the request bytes as they are and reads the status line; 0 when the host closed without answering.</summary>
    private static async Task<int> SendRawAsync(Uri address, byte[] raw)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(raw);
            await stream.FlushAsync();

            // No half-close: Kestrel takes a client's FIN as the request given up, and answers nothing.
        }
        catch (IOException)
        {
            // The host may answer and close before all of a hostile request is written: read what it said.
        }

        var buffer = new byte[64];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (read < 12)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        var line = Encoding.ASCII.GetString(buffer, 0, read);
        return line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status) ? status : 0;
    }
}

/// <summary>One generated delivery: over HTTP (<see cref="Raw"/> null) or as raw request bytes.</summary>
public sealed record HostileCase(string Kind, string Path, byte[] Body, string? ContentType, IReadOnlyList<KeyValuePair<string, string>> Headers, bool Chunked = false, byte[]? Raw = null)
{
    public override string ToString()
    {
        var body = Raw ?? Body;
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 160)).ReplaceLineEndings("\\n");
        return $"[{Kind}] {Path} {ContentType} ({body.Length} bytes) {string.Join(" ", Headers.Select(h => $"{h.Key}={Short(h.Value)}"))} :: {text}";
    }

    private static string Short(string value) => value.Length > 40 ? value[..40] + "…" : value;
}

/// <summary>
/// The generator. Every case is built to be refused: a body that is not JSON, not an object, too deep or too big;
/// JSON whose ticket field is missing, of the wrong type or malformed; a signature that is missing, wrong, for other
/// bytes or too old; a content type that is not JSON; headers repeated or injected. Signed cases are signed with the
/// real secret so the refusal comes from the parser or the field checks, not the signature.
/// </summary>
internal sealed class HostileCases(Sandbox.Demo.SandboxWorld world, Random random)
{
    private const string ServiceNowPath = ServiceNowWebhookContract.Path;
    private const string JiraPath = "/api/webhooks/jira";
    private const int MaxBody = 256 * 1024;

    private static readonly string[] NotJson = ["text/plain", "application/xml", "text/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream", "", "json", "application/jsonp", "application/json-seq", "*/*", "application"];

    private static readonly string[] Garbage = ["", " ", "null", "true", "0", "-1e999", "\"sys_id\"", "[]", "[{}]", "{", "}", "{]", "{\"a\":}", "{\"a\" 1}", "{'sys_id':'x'}", "{\"a\":1,}", "{\"a\":NaN}", "{\"a\":undefined}", "<xml/>", "sys_id=1&table=sc_req_item", "{\"a\":\"\\u12\"}", "{\"a\":\"\\x41\"}", "{\"a\":01}", "\u0000{}", "{} {}", "{}}", "{\"a\":1}garbage", "/* c */ {}", "{\"a\":\"unterminated}"];

    // A well-formed sys_id and a real issue: the cases around them (wrong signature, content type...) would be accepted without the fault.
    private readonly string _ritm = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("hostile"u8)[..16]);
    private readonly string _issue = Tickets.JiraGrant(world, Tickets.NewEmployee(world)).Key;

    public IEnumerable<HostileCase> Generate(int count)
    {
        var generators = new Func<HostileCase>[]
        {
            Truncated, TrailingGarbage, GarbageBody, WrongTypes, DeepNesting, InvalidUtf8, WrongContentType,
            Unsigned, WrongSignature, ReplayedSignature, StaleOrFutureTimestamp, BadDeliveryHeaders,
            RepeatedSignatureHeader, InjectedHeaders, MalformedHttp, RandomMutationSigned,
        };
        for (var i = 0; i < count; i++)
        {
            // One huge body per hundred cases: they cost far more to send than the rest.
            yield return i % 100 == 99 ? Huge() : generators[random.Next(generators.Length)]();
        }
    }

    private bool Jira => random.Next(2) == 0;

    // ---- bodies that are not a ticket signal, signed with the real secret ----

    private HostileCase Truncated()
    {
        var jira = Jira;
        var body = jira ? JiraBody() : ServiceNowBody();
        return Signed("truncated", jira, body[..random.Next(0, body.Length - 1)]);
    }

    private HostileCase TrailingGarbage()
    {
        var jira = Jira;
        var tails = new[] { "x", "}", "]", ",", "{}", "{\"sys_id\":1}", "null", "\u0000", "//", "\"" };
        return Signed("trailing-garbage", jira, [.. jira ? JiraBody() : ServiceNowBody(), .. Encoding.UTF8.GetBytes(tails[random.Next(tails.Length)])]);
    }

    private HostileCase GarbageBody()
    {
        var jira = Jira;
        var body = random.Next(3) == 0 ? RandomBytes(random.Next(1, 2048)) : Encoding.UTF8.GetBytes(Garbage[random.Next(Garbage.Length)]);
        return Signed("garbage", jira, body);
    }

    private HostileCase WrongTypes()
    {
        var jira = Jira;
        var values = new[] { "1", "-1", "1.5e300", "true", "null", "[]", "{}", "[\"" + _ritm + "\"]", "{\"value\":\"" + _ritm + "\"}", "\"\"", "\"" + _ritm[..31] + "\"", "\"" + _ritm + "0\"", "\"g" + _ritm[1..] + "\"", "\"" + _ritm + "\\n\"", "\"" + _ritm + "\\u0000\"", "\" " + _ritm + "\"", "\"../../" + _ritm[6..] + "\"", "\"HR-0\"", "\"hr-1\"", "\"HR-1 OR 1=1\"", "\"HR-12345678901\"", "\"-1\"", "\"" + new string('A', 60) + "-1\"", "\"HR-1\\n\"", "\"HR\\u00001\"" };
        var value = values[random.Next(values.Length)];
        string text;
        if (jira)
        {
            text = random.Next(4) switch
            {
                0 => $"{{\"webhookEvent\":\"jira:issue_created\",\"issue\":{{\"key\":{value}}}}}",
                1 => $"{{\"webhookEvent\":\"jira:issue_updated\",\"issue\":{value}}}",
                2 => "{\"webhookEvent\":\"jira:issue_created\"}",
                _ => random.Next(2) == 0 ? "[{\"webhookEvent\":\"jira:issue_created\",\"issue\":{\"key\":\"" + _issue + "\"}}]" : "\"" + _issue + "\"",
            };
        }
        else
        {
            text = random.Next(4) switch
            {
                0 => $"{{\"sys_id\":{value},\"table\":\"sc_req_item\"}}",
                1 => "{\"table\":\"sc_req_item\"}",
                2 => $"{{\"sys_id\":{value}}}",
                _ => random.Next(2) == 0 ? "[{\"sys_id\":\"" + _ritm + "\",\"table\":\"sc_req_item\"}]" : "\"" + _ritm + "\"",
            };
        }

        return Signed("wrong-types", jira, Encoding.UTF8.GetBytes(text));
    }

    private HostileCase DeepNesting()
    {
        var jira = Jira;
        var depth = random.Next(33, 20_000);
        var open = random.Next(2) == 0 ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        var text = new StringBuilder(jira ? "{\"webhookEvent\":\"jira:issue_created\",\"x\":" : "{\"table\":\"sc_req_item\",\"x\":");
        for (var i = 0; i < depth; i++)
        {
            text.Append(open);
        }

        text.Append('1');
        for (var i = 0; i < depth; i++)
        {
            text.Append(close);
        }

        text.Append(jira ? ",\"issue\":{\"key\":\"" + _issue + "\"}}" : ",\"sys_id\":\"" + _ritm + "\"}");
        var body = Encoding.UTF8.GetBytes(text.ToString());
        return body.Length > MaxBody ? Signed("deep-nesting", jira, body[..MaxBody]) : Signed("deep-nesting", jira, body);
    }

    private HostileCase InvalidUtf8()
    {
        var jira = Jira;
        byte[][] bad = [[0xFF], [0xC3, 0x28], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xFE, 0xFF]];
        var seq = bad[random.Next(bad.Length)];
        var key = jira ? _issue : _ritm;
        var at = random.Next(1, key.Length);
        byte[] value = [.. Encoding.UTF8.GetBytes(key[..at]), .. seq, .. Encoding.UTF8.GetBytes(key[at..])];
        byte[] body = jira
            ? [.. "{\"webhookEvent\":\"jira:issue_created\",\"issue\":{\"key\":\""u8.ToArray(), .. value, .. "\"}}"u8.ToArray()]
            : [.. "{\"sys_id\":\""u8.ToArray(), .. value, .. "\",\"table\":\"sc_req_item\"}"u8.ToArray()];
        if (random.Next(3) == 0)
        {
            // Or anywhere outside a string.
            var whole = jira ? JiraBody() : ServiceNowBody();
            var i = random.Next(1, whole.Length);
            body = [.. whole[..i], .. seq, .. whole[i..]];
            if (IsInsideString(whole, i))
            {
                body = [.. seq, .. whole];
            }
        }

        return Signed("invalid-utf8", jira, body);
    }

    private HostileCase Huge()
    {
        var jira = Jira;
        var size = MaxBody + 1 + random.Next(0, 3 * MaxBody);
        var body = new byte[size];
        var prefix = jira ? JiraBody() : ServiceNowBody();
        prefix.AsSpan(0, prefix.Length - 1).CopyTo(body);
        body.AsSpan(prefix.Length - 1).Fill((byte)' ');
        body[^1] = (byte)'}';
        var c = Signed("huge", jira, body);
        return c with { Chunked = random.Next(2) == 0 };
    }

    private HostileCase RandomMutationSigned()
    {
        // Flip, drop or insert bytes of a genuine body, then keep only mutations that break the ticket field or the
        // JSON itself (checked below), so the refusal is certain.
        var jira = Jira;
        var body = (jira ? JiraBody() : ServiceNowBody()).ToList();
        var field = Encoding.UTF8.GetBytes(jira ? $"\"key\":\"{_issue}\"" : $"\"sys_id\":\"{_ritm}\"");
        var key = Encoding.UTF8.GetBytes(jira ? _issue : _ritm);
        var start = IndexOf(body, field) + field.Length - key.Length - 1;
        var position = start + random.Next(key.Length);
        switch (random.Next(3))
        {
            case 0:
                const string Breaking = "!@#$%^&*()<>?;'\\\" \t\r\n";
                body[position] = (byte)Breaking[random.Next(Breaking.Length)];
                break;
            case 1:
                body.RemoveAt(position);
                body.Insert(position, (byte)'~');
                break;
            default:
                string[] inserts = ["%00", "\\u0000", "<script>", "' OR '1'='1", "../", "\r\n", "${jndi:ldap://x}"];
                body.InsertRange(position, Encoding.UTF8.GetBytes(inserts[random.Next(inserts.Length)]));
                break;
        }

        return Signed("mutated", jira, [.. body]);
    }

    // ---- genuine bodies with something wrong around them ----

    private HostileCase WrongContentType()
    {
        var jira = Jira;
        var c = Signed("wrong-content-type", jira, jira ? JiraBody() : ServiceNowBody());
        var type = NotJson[random.Next(NotJson.Length)];
        return c with { ContentType = type.Length == 0 ? null : type };
    }

    private HostileCase Unsigned()
    {
        var jira = Jira;
        var c = Signed("unsigned", jira, jira ? JiraBody() : ServiceNowBody());
        var signature = jira ? JiraSandbox.WebhookSignatureHeader : ServiceNowWebhookContract.SignatureHeader;
        var blank = new[] { null, "", " ", "sha256=", "null" }[random.Next(5)];
        return c with { Headers = [.. c.Headers.Where(h => h.Key != signature), .. blank is null ? [] : new[] { KeyValuePair.Create(signature, blank) }] };
    }

    private HostileCase WrongSignature()
    {
        var jira = Jira;
        var body = jira ? JiraBody() : ServiceNowBody();
        var wrong = random.Next(4) switch
        {
            0 => jira ? JiraSandbox.Sign("not-the-secret", body) : ServiceNowWebhookContract.Sign(Convert.ToBase64String("not-the-secret-0001"u8), Now(), Guid.NewGuid().ToString(), body),
            1 => jira ? "sha256=" + new string('0', 64) : Convert.ToBase64String(new byte[32]),
            2 => jira ? "sha1=" + Convert.ToHexStringLower(RandomBytes(20)) : Convert.ToBase64String(RandomBytes(random.Next(1, 80))),
            _ => jira ? "sha256=" + Convert.ToHexStringLower(RandomBytes(32)).ToUpperInvariant().Replace('A', 'Z') : "%%%not-base64%%%",
        };
        var c = Signed("wrong-signature", jira, body);
        var header = jira ? JiraSandbox.WebhookSignatureHeader : ServiceNowWebhookContract.SignatureHeader;
        return c with { Headers = [.. c.Headers.Where(h => h.Key != header), KeyValuePair.Create(header, wrong)] };
    }

    /// <summary>A genuine signature replayed over other bytes: another ticket, a changed body, another delivery id.</summary>
    private HostileCase ReplayedSignature()
    {
        var jira = Jira;
        var original = Signed("replayed-signature", jira, jira ? JiraBody() : ServiceNowBody());
        var other = jira
            ? Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(JiraBody()).Replace(_issue, "HR-" + random.Next(1, 99999).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal) + " ")
            : ServiceNowWebhookContract.Body(Convert.ToHexStringLower(RandomBytes(16)), "1", "2026-01-01 00:00:00");
        if (!jira && random.Next(2) == 0)
        {
            // Same body, the signed delivery id swapped.
            return original with { Headers = [.. original.Headers.Where(h => h.Key != ServiceNowWebhookContract.DeliveryHeader), KeyValuePair.Create(ServiceNowWebhookContract.DeliveryHeader, Guid.NewGuid().ToString())] };
        }

        return original with { Body = other };
    }

    /// <summary>A correctly signed delivery replayed later than accepted (or dated in the future).</summary>
    private HostileCase StaleOrFutureTimestamp()
    {
        var jira = Jira;
        var skew = TimeSpan.FromSeconds(random.Next(2) == 0 ? -random.Next(400, 10_000_000) : random.Next(400, 10_000_000));
        if (jira)
        {
            var text = Encoding.UTF8.GetString(JiraBody());
            var old = world.Jira!.Time.GetUtcNow().AddHours(-49).AddSeconds(-random.Next(0, 10_000_000)).ToUnixTimeMilliseconds();
            var stamped = System.Text.RegularExpressions.Regex.Replace(text, "\"timestamp\":\\d+", $"\"timestamp\":{old}");
            return Signed("stale-timestamp", true, Encoding.UTF8.GetBytes(stamped));
        }

        var body = ServiceNowBody();
        var timestamp = world.ServiceNow.Time.GetUtcNow().Add(skew).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return ServiceNowSigned("stale-timestamp", body, timestamp, Guid.NewGuid().ToString());
    }

    /// <summary>Signed, but the delivery id or timestamp (both part of what is signed) are not what the contract allows.</summary>
    private HostileCase BadDeliveryHeaders()
    {
        var body = ServiceNowBody();
        var ids = new[] { "a b", "../../etc/passwd", "<script>", new string('a', 65), "id;drop", "a\tb", "%0d%0aX: y" };
        var timestamps = new[] { "yesterday", "-1", "1e9", "0x10", "999999999999999", "1.5" };
        return random.Next(2) == 0
            ? ServiceNowSigned("bad-delivery-header", body, Now(), ids[random.Next(ids.Length)])
            : ServiceNowSigned("bad-delivery-header", body, timestamps[random.Next(timestamps.Length)], Guid.NewGuid().ToString());
    }

    // ---- raw HTTP: what a well-behaved client will not send ----

    /// <summary>The signature header twice (a genuine one and a forged one): counted as absent.</summary>
    private HostileCase RepeatedSignatureHeader()
    {
        var jira = Jira;
        var c = Signed("repeated-signature-header", jira, jira ? JiraBody() : ServiceNowBody());
        var header = jira ? JiraSandbox.WebhookSignatureHeader : ServiceNowWebhookContract.SignatureHeader;
        var genuine = c.Headers.First(h => h.Key == header).Value;
        var extra = new[] { KeyValuePair.Create(header, genuine), KeyValuePair.Create(header, random.Next(2) == 0 ? genuine : "forged") };
        return Raw(c, [.. c.Headers.Where(h => h.Key != header), .. random.Next(2) == 0 ? extra : extra.Reverse()]);
    }

    /// <summary>CR/LF, NUL and non-ASCII bytes inside header names and values, and an over-long header.</summary>
    private HostileCase InjectedHeaders()
    {
        var jira = Jira;
        var c = Signed("injected-headers", jira, jira ? JiraBody() : ServiceNowBody());
        var header = jira ? JiraSandbox.WebhookSignatureHeader : ServiceNowWebhookContract.SignatureHeader;
        var genuine = c.Headers.First(h => h.Key == header).Value;
        var headers = c.Headers.Where(h => h.Key != header).ToList();
        switch (random.Next(5))
        {
            case 0:
                headers.Add(KeyValuePair.Create(header, "forged\r\n" + header + ": " + genuine));
                break;
            case 1:
                headers.Add(KeyValuePair.Create(header, genuine + "\0"));
                break;
            case 2:
                headers.Add(KeyValuePair.Create(header, genuine));
                headers.Add(KeyValuePair.Create("X-Inject\r\n\r\nPOST /api/webhooks/servicenow HTTP/1.1", "x"));
                break;
            case 3:
                headers.Add(KeyValuePair.Create(header, "\u00e9\u00ff" + genuine));
                break;
            default:
                headers.Add(KeyValuePair.Create(header, genuine));
                headers.Add(KeyValuePair.Create("X-Padding", new string('a', 40_000 + random.Next(10_000))));
                break;
        }

        return Raw(c, headers);
    }

    /// <summary>Requests that are not valid HTTP: a Content-Length that lies or is repeated, broken chunking, a bad request line.</summary>
    private HostileCase MalformedHttp()
    {
        var jira = Jira;
        var c = Signed("malformed-http", jira, jira ? JiraBody() : ServiceNowBody());
        var head = new StringBuilder();
        var body = c.Body;
        var choice = random.Next(5);
        head.Append(choice == 4 ? $"POST {c.Path} x HTTP/1.1\r\n" : $"POST {c.Path} HTTP/1.1\r\n").Append("Host: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n");
        foreach (var (name, value) in c.Headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        switch (choice)
        {
            case 0:
                head.Append($"Content-Length: {body.Length}\r\nContent-Length: {body.Length + 5}\r\n");
                break;
            case 1:
                head.Append("Content-Length: -5\r\n");
                break;
            case 2:
                head.Append("Transfer-Encoding: chunked\r\n");
                body = Encoding.ASCII.GetBytes($"zz\r\n{Encoding.UTF8.GetString(body)}\r\n0\r\n\r\n");
                break;
            case 3:
                head.Append($"Content-Length: {body.Length}\r\nTransfer-Encoding: chunked, identity\r\n");
                break;
            default:
                head.Append($"Content-Length: {body.Length}\r\n");
                break;
        }

        head.Append("\r\n");
        return c with { Raw = [.. Encoding.Latin1.GetBytes(head.ToString()), .. body] };
    }

    private static HostileCase Raw(HostileCase c, IEnumerable<KeyValuePair<string, string>> headers)
    {
        var head = new StringBuilder($"POST {c.Path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {c.Body.Length}\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        return c with { Raw = [.. Encoding.Latin1.GetBytes(head.ToString()), .. c.Body] };
    }

    // ---- signing and genuine bodies ----

    private HostileCase Signed(string kind, bool jira, byte[] body) =>
        jira ? JiraSigned(kind, body) : ServiceNowSigned(kind, body, Now(), Guid.NewGuid().ToString());

    private HostileCase JiraSigned(string kind, byte[] body) => new(kind, JiraPath, body, "application/json",
    [
        KeyValuePair.Create(JiraSandbox.WebhookSignatureHeader, JiraSandbox.Sign(world.Jira!.Options.WebhookSecret, body)),
        KeyValuePair.Create(JiraSandbox.WebhookIdentifierHeader, "fuzz-" + random.Next().ToString(CultureInfo.InvariantCulture)),
    ]);

    private HostileCase ServiceNowSigned(string kind, byte[] body, string timestamp, string delivery) => new(kind, ServiceNowPath, body, "application/json",
    [
        KeyValuePair.Create(ServiceNowWebhookContract.TimestampHeader, timestamp),
        KeyValuePair.Create(ServiceNowWebhookContract.DeliveryHeader, delivery),
        KeyValuePair.Create(ServiceNowWebhookContract.SignatureHeader, ServiceNowWebhookContract.Sign(world.ServiceNow.Options.WebhookSecret, timestamp, delivery, body)),
    ]);

    private string Now() => world.ServiceNow.Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private byte[] ServiceNowBody() => ServiceNowWebhookContract.Body(_ritm, "3", "2026-11-26 10:00:00");

    private byte[] JiraBody() => world.Jira!.BuildWebhook(_issue, "jira:issue_created").Body;

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static int IndexOf(List<byte> haystack, byte[] needle)
    {
        for (var i = 0; i <= haystack.Count - needle.Length; i++)
        {
            if (haystack.Skip(i).Take(needle.Length).SequenceEqual(needle))
            {
                return i;
            }
        }

        throw new InvalidOperationException("The ticket key is not in the body.");
    }

    private static bool IsInsideString(byte[] json, int position)
    {
        var inside = false;
        for (var i = 0; i < position; i++)
        {
            if (json[i] == '"' && (i == 0 || json[i - 1] != '\\'))
            {
                inside = !inside;
            }
        }

        return inside;
    }
}
