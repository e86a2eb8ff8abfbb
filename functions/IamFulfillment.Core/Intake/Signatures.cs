using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace IamFulfillment.Core.Intake;

/// <summary>HMAC-SHA256 checks over the raw body bytes, constant-time, trying each configured secret (rotation).</summary>
public static class Signatures
{
    public const string ServiceNowSignatureHeader = "X-IamF-Signature";
    public const string ServiceNowTimestampHeader = "X-IamF-Timestamp";
    public const string ServiceNowDeliveryHeader = "X-IamF-Delivery";
    public const string JiraSignatureHeader = "X-Hub-Signature";
    public const string JiraDeliveryHeader = "X-Atlassian-Webhook-Identifier";

    /// <summary>
    /// ServiceNow (the shipped business rule): base64 HMAC-SHA256, keyed with the base64-decoded secret, over
    /// <c>timestamp + "." + delivery + "." + body</c>, as <c>CertificateEncryption.generateMac</c> computes it.
    /// </summary>
    public static SignatureCheck VerifyServiceNow(IReadOnlyList<byte[]> keys, string? signature, string timestamp, string delivery, ReadOnlySpan<byte> body)
    {
        // An empty key would let anyone sign: it counts as no key at all (fail closed).
        var usable = keys.Where(k => k.Length > 0).ToList();
        if (usable.Count == 0)
        {
            return SignatureCheck.SecretNotConfigured;
        }

        if (string.IsNullOrWhiteSpace(signature))
        {
            return SignatureCheck.MissingSignature;
        }

        Span<byte> given = stackalloc byte[64];
        if (!Convert.TryFromBase64String(signature.Trim(), given, out var length) || length != 32)
        {
            return SignatureCheck.Mismatch;
        }

        var prefix = Encoding.UTF8.GetBytes($"{timestamp}.{delivery}.");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        Span<byte> expected = stackalloc byte[32];
        foreach (var key in usable)
        {
            HMACSHA256.HashData(key, message, expected);
            if (CryptographicOperations.FixedTimeEquals(expected, given[..32]))
            {
                return SignatureCheck.Valid;
            }
        }

        return SignatureCheck.Mismatch;
    }

    /// <summary>Jira admin webhooks: <c>X-Hub-Signature: sha256=&lt;hex&gt;</c>, HMAC-SHA256 keyed with the raw secret over the raw body.</summary>
    public static SignatureCheck VerifyJira(IReadOnlyList<string> secrets, string? header, ReadOnlySpan<byte> body)
    {
        var usable = secrets.Where(s => !string.IsNullOrEmpty(s)).ToList();
        if (usable.Count == 0)
        {
            return SignatureCheck.SecretNotConfigured;
        }

        if (string.IsNullOrWhiteSpace(header))
        {
            return SignatureCheck.MissingSignature;
        }

        var value = header.Trim();
        const string Prefix = "sha256=";
        if (!value.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || value.Length != Prefix.Length + 64)
        {
            return SignatureCheck.Mismatch;
        }

        Span<byte> given = stackalloc byte[32];
        if (Convert.FromHexString(value.AsSpan(Prefix.Length), given, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return SignatureCheck.Mismatch;
        }

        Span<byte> expected = stackalloc byte[32];
        foreach (var secret in usable)
        {
            HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, expected);
            if (CryptographicOperations.FixedTimeEquals(expected, given))
            {
                return SignatureCheck.Valid;
            }
        }

        return SignatureCheck.Mismatch;
    }

    /// <summary>Computes the ServiceNow signature (for the sandbox and tests: the same function the business rule runs).</summary>
    public static string SignServiceNow(byte[] key, string timestamp, string delivery, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{timestamp}.{delivery}.");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return Convert.ToBase64String(HMACSHA256.HashData(key, message));
    }

    public static string SignJira(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static bool TryParseUnixSeconds(string? text, out DateTimeOffset at)
    {
        at = default;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds is < 0 or > 253402300799)
        {
            return false;
        }

        at = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }
}
