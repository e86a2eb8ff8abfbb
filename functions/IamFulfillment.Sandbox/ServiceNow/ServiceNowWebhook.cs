using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace IamFulfillment.Sandbox.ServiceNow;

/// <summary>
/// The webhook contract of the shipped business rule (infra/servicenow/iamf_business_rule.js): what it POSTs and
/// how it signs it. The MAC is what <c>CertificateEncryption.generateMac(base64Key, "HmacSHA256", data)</c> returns:
/// base64 of HMAC-SHA256 keyed with the base64-decoded secret over <c>timestamp + "." + delivery + "." + body</c>.
/// </summary>
public static class ServiceNowWebhookContract
{
    public const string Path = "/api/webhooks/servicenow";
    public const string DeliveryHeader = "X-IamF-Delivery";
    public const string TimestampHeader = "X-IamF-Timestamp";
    public const string SignatureHeader = "X-IamF-Signature";

    /// <summary>The body, byte for byte as the rule's JSON.stringify writes it (keys in this order, no spaces).</summary>
    public static byte[] Body(string sysId, string modCount, string updatedOn, string table = "sc_req_item")
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("sys_id", sysId);
            writer.WriteString("table", table);
            writer.WriteString("sys_mod_count", modCount);
            writer.WriteString("sys_updated_on", updatedOn);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The text the MAC is computed over.</summary>
    public static byte[] MacInput(string timestamp, string delivery, byte[] body) =>
        [.. Encoding.UTF8.GetBytes(timestamp + "." + delivery + "."), .. body];

    public static string Sign(string base64Key, string timestamp, string delivery, byte[] body) =>
        Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(base64Key), MacInput(timestamp, delivery, body)));
}

/// <summary>One signed delivery: the exact bytes and headers the business rule sends.</summary>
public sealed record SandboxWebhook(string Path, byte[] Body, IReadOnlyDictionary<string, string> Headers)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The request to send to the service at <paramref name="serviceBaseAddress"/>.</summary>
    public HttpRequestMessage ToRequest(Uri serviceBaseAddress)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(serviceBaseAddress, Path)) { Content = new ByteArrayContent(Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in Headers)
        {
            if (!string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return request;
    }
}

public sealed partial class ServiceNowSandbox
{
    /// <summary>
    /// The delivery the business rule would send for the requested item now (its current sys_mod_count and
    /// sys_updated_on), signed with <see cref="ServiceNowSandboxOptions.WebhookSecret"/>. The same
    /// <paramref name="deliveryId"/> and <paramref name="sentAt"/> give the same bytes (a retry).
    /// </summary>
    public SandboxWebhook BuildWebhook(string ritmSysId, string? deliveryId = null, DateTimeOffset? sentAt = null, string? secret = null)
    {
        var ritm = Tables.Get("sc_req_item", ritmSysId) ?? throw new InvalidOperationException($"sc_req_item {ritmSysId} does not exist.");
        var body = ServiceNowWebhookContract.Body(ritmSysId, ritm["sys_mod_count"], ritm["sys_updated_on"]);
        var delivery = deliveryId ?? Guid.NewGuid().ToString("D");
        var timestamp = (sentAt ?? Time.GetUtcNow()).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = ServiceNowWebhookContract.Sign(secret ?? Options.WebhookSecret, timestamp, delivery, body);
        return new SandboxWebhook(ServiceNowWebhookContract.Path, body, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Type"] = "application/json",
            [ServiceNowWebhookContract.DeliveryHeader] = delivery,
            [ServiceNowWebhookContract.TimestampHeader] = timestamp,
            [ServiceNowWebhookContract.SignatureHeader] = signature,
        });
    }
}
