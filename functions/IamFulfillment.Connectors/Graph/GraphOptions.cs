using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using IamFulfillment.Connectors.Http;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Graph;

public enum GraphAuthMode
{
    /// <summary>The host's managed identity (system-assigned, or user-assigned via <see cref="GraphOptions.ManagedIdentityClientId"/>).</summary>
    ManagedIdentity,

    /// <summary>An app registration with a certificate (PFX or PEM file).</summary>
    Certificate,

    /// <summary>An app registration with a client secret (development only; prefer a certificate or managed identity).</summary>
    ClientSecret,

    /// <summary>No token at all: only for a loopback test server such as the Graph sandbox.</summary>
    None,
}

/// <summary>Configuration section <c>Graph</c>: how the service reaches Microsoft Graph.</summary>
public sealed class GraphOptions
{
    public const string SectionName = "Graph";
    public const string DefaultBaseUrl = "https://graph.microsoft.com/v1.0";

    /// <summary>Graph root including the version, e.g. <c>https://graph.microsoft.us/v1.0</c> or a loopback sandbox.</summary>
    public string BaseUrl { get; set; } = DefaultBaseUrl;

    public GraphAuthMode AuthMode { get; set; } = GraphAuthMode.ManagedIdentity;

    /// <summary>Directory (tenant) id; required for <see cref="GraphAuthMode.ClientSecret"/> and <see cref="GraphAuthMode.Certificate"/>.</summary>
    public string? TenantId { get; set; }

    /// <summary>Application (client) id of the app registration.</summary>
    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>PFX or PEM file holding the certificate and its private key.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>Client id of a user-assigned managed identity; empty = the system-assigned identity.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>Entra ID authority for sovereign clouds (e.g. <c>https://login.microsoftonline.us</c>); empty = public cloud.</summary>
    public string? AuthorityHost { get; set; }

    /// <summary>The one mailbox (UPN or object id) Temporary Access Passes are mailed from. Needed only for MFA resets.</summary>
    public string? MailSender { get; set; }

    /// <summary>
    /// The user attribute holding a person's Atlassian account id: a property (<c>employeeId</c>), an on-premises
    /// extension attribute (<c>onPremisesExtensionAttributes/extensionAttribute5</c>) or a directory extension
    /// (<c>extension_&lt;appid&gt;_atlassianId</c>). Empty = Jira people cannot be matched by account id.
    /// </summary>
    public string? AtlassianAccountIdAttribute { get; set; }

    /// <summary>Combine concurrent requests into JSON batches while other requests are in flight.</summary>
    public bool Batching { get; set; } = true;

    [Range(1, 20, ErrorMessage = "Graph:MaxBatchSize must be between 1 and 20 (Graph's JSON batch limit).")]
    public int MaxBatchSize { get; set; } = 20;

    /// <summary>
    /// Requests per second above which concurrent requests are gathered into batches. Below it every request goes
    /// out at once (a lone ticket's parallel lookups cost one round trip); above it (a bulk event) they are batched
    /// to cut calls and stay inside Graph's throttling budget. 0 = always batch while calls are in flight.
    /// </summary>
    [Range(0, 100_000, ErrorMessage = "Graph:BatchingMinRate must be between 0 and 100000 requests per second.")]
    public int BatchingMinRate { get; set; } = 200;

    /// <summary>Most HTTP calls (plain or batch) the batcher keeps in flight at once.</summary>
    [Range(1, 16, ErrorMessage = "Graph:MaxConcurrentCalls must be between 1 and 16.")]
    public int MaxConcurrentCalls { get; set; } = 8;

    /// <summary>Time allowed for one try of one HTTP call (unless <c>Graph:Retry:AttemptTimeout</c> says otherwise).</summary>
    [Range(1, 300, ErrorMessage = "Graph:TimeoutSeconds must be between 1 and 300.")]
    public int TimeoutSeconds { get; set; } = 30;

    internal Uri BaseUri => new(BaseUrl.TrimEnd('/') + "/");
}

/// <summary>Start-up validation of <see cref="GraphOptions"/>; every message names the configuration key to fix.</summary>
internal sealed partial class GraphOptionsValidator : IValidateOptions<GraphOptions>
{
    public ValidateOptionsResult Validate(string? name, GraphOptions options)
    {
        var errors = new List<string>();
        var baseUrlValid = Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var baseUri)
            && (baseUri.Scheme == Uri.UriSchemeHttps || (baseUri.Scheme == Uri.UriSchemeHttp && LoopbackGuard.IsLoopback(baseUri)));
        if (!baseUrlValid)
        {
            errors.Add($"Graph:BaseUrl must be an absolute https URL such as {GraphOptions.DefaultBaseUrl} (http only for a loopback test server).");
        }

        switch (options.AuthMode)
        {
            case GraphAuthMode.None:
                if (baseUrlValid && !LoopbackGuard.IsLoopback(baseUri!))
                {
                    errors.Add("Graph:AuthMode None (no token) is only allowed when Graph:BaseUrl is a loopback test server; "
                        + $"'{baseUri!.GetLeftPart(UriPartial.Authority)}' is not. Use ManagedIdentity, Certificate or ClientSecret.");
                }

                break;
            case GraphAuthMode.ClientSecret:
                RequireAppRegistration(options, errors);
                Require(options.ClientSecret, "Graph:ClientSecret", options.AuthMode, errors);
                break;
            case GraphAuthMode.Certificate:
                RequireAppRegistration(options, errors);
                if (Require(options.CertificatePath, "Graph:CertificatePath", options.AuthMode, errors))
                {
                    CheckCertificate(options, errors);
                }

                break;
            case GraphAuthMode.ManagedIdentity:
                if (!string.IsNullOrWhiteSpace(options.ManagedIdentityClientId) && !Guid.TryParse(options.ManagedIdentityClientId, out _))
                {
                    errors.Add("Graph:ManagedIdentityClientId must be the client id (a GUID) of a user-assigned managed identity, or empty for the system-assigned one.");
                }

                break;
            default:
                errors.Add("Graph:AuthMode must be ManagedIdentity, Certificate, ClientSecret or None.");
                break;
        }

        if (!string.IsNullOrWhiteSpace(options.AuthorityHost)
            && !(Uri.TryCreate(options.AuthorityHost, UriKind.Absolute, out var authority) && authority.Scheme == Uri.UriSchemeHttps))
        {
            errors.Add("Graph:AuthorityHost must be an absolute https URL such as https://login.microsoftonline.us, or empty for the public cloud.");
        }

        if (!string.IsNullOrWhiteSpace(options.MailSender) && !Guid.TryParse(options.MailSender, out _) && !LooksLikeAddress(options.MailSender))
        {
            errors.Add("Graph:MailSender must be the user principal name or object id of the mailbox that sends Temporary Access Passes.");
        }

        if (!string.IsNullOrWhiteSpace(options.AtlassianAccountIdAttribute) && !AttributePattern().IsMatch(options.AtlassianAccountIdAttribute))
        {
            errors.Add("Graph:AtlassianAccountIdAttribute must be a user property name such as employeeId, "
                + "onPremisesExtensionAttributes/extensionAttribute5 or extension_<appid>_atlassianId.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool LooksLikeAddress(string value) =>
        value.Length <= 256 && value.IndexOf('@', StringComparison.Ordinal) > 0 && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    private static void RequireAppRegistration(GraphOptions options, List<string> errors)
    {
        Require(options.TenantId, "Graph:TenantId", options.AuthMode, errors);
        if (Require(options.ClientId, "Graph:ClientId", options.AuthMode, errors) && !Guid.TryParse(options.ClientId, out _))
        {
            errors.Add("Graph:ClientId must be the application (client) id, a GUID.");
        }
    }

    private static bool Require(string? value, string key, GraphAuthMode mode, List<string> errors)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            return true;
        }

        errors.Add($"{key} is required when Graph:AuthMode is {mode}.");
        return false;
    }

    private static void CheckCertificate(GraphOptions options, List<string> errors)
    {
        if (!File.Exists(options.CertificatePath))
        {
            errors.Add($"Graph:CertificatePath '{options.CertificatePath}' does not exist.");
            return;
        }

        try
        {
            using var certificate = GraphClientBuilder.LoadCertificate(options.CertificatePath!, options.CertificatePassword);
            if (!certificate.HasPrivateKey)
            {
                errors.Add("Graph:CertificatePath must hold the certificate's private key too (a PFX, or a PEM with the key).");
            }
        }
        catch (CryptographicException)
        {
            errors.Add("Graph:CertificatePath could not be read as a PFX or PEM certificate; check the file and Graph:CertificatePassword.");
        }
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,119}(/[A-Za-z][A-Za-z0-9_]{0,119})?$", RegexOptions.CultureInvariant)]
    private static partial Regex AttributePattern();
}
