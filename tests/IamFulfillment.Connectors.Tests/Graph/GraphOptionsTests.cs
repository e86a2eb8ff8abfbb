using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure.Identity;
using IamFulfillment.Connectors.Graph;
using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace IamFulfillment.Connectors.Tests.Graph;

public sealed class GraphOptionsTests
{
    private const string TenantId = "11111111-2222-3333-4444-555555555555";
    private const string ClientId = "66666666-7777-8888-9999-000000000000";

    [Fact]
    public void Options_Defaults_AreDocumentedValues()
    {
        using var services = GraphHarness.BuildServices(new() { ["Graph:AuthMode"] = "ManagedIdentity" });

        var options = services.GetRequiredService<IOptions<GraphOptions>>().Value;
        var retry = services.GetRequiredService<IOptionsMonitor<RetryOptions>>().Get("Graph");

        Assert.Equal("https://graph.microsoft.com/v1.0", options.BaseUrl);
        Assert.True(options.Batching);
        Assert.Equal(20, options.MaxBatchSize);
        Assert.Equal(8, options.MaxConcurrentCalls);
        Assert.Equal(30, options.TimeoutSeconds);
        Assert.Equal(TimeSpan.FromSeconds(30), retry.AttemptTimeout);
        Assert.Equal(4, retry.MaxAttempts);
        Assert.IsType<GraphDirectory>(services.GetRequiredService<IDirectory>());
    }

    [Fact]
    public void Options_TimeoutSeconds_SetsTheRetryLayersTimePerTry()
    {
        using var services = GraphHarness.BuildServices(new() { ["Graph:AuthMode"] = "ManagedIdentity", ["Graph:TimeoutSeconds"] = "12" });

        Assert.Equal(TimeSpan.FromSeconds(12), services.GetRequiredService<IOptionsMonitor<RetryOptions>>().Get("Graph").AttemptTimeout);
    }

    [Fact]
    public void Options_AuthNoneWithRemoteUrl_FailsValidationNamingKey()
    {
        using var services = GraphHarness.BuildServices(new() { ["Graph:AuthMode"] = "None", ["Graph:BaseUrl"] = "https://graph.microsoft.com/v1.0" });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Graph:AuthMode", error.Message, StringComparison.Ordinal);
        Assert.Contains("Graph:BaseUrl", error.Message, StringComparison.Ordinal);
        Assert.Contains("loopback", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5050/v1.0")]
    [InlineData("http://localhost:5050/v1.0")]
    public void Options_AuthNoneWithLoopbackUrl_IsValid(string baseUrl)
    {
        using var services = GraphHarness.BuildServices(new() { ["Graph:AuthMode"] = "None", ["Graph:BaseUrl"] = baseUrl });

        services.GetRequiredService<IStartupValidator>().Validate();
    }

    [Theory]
    [InlineData("ClientSecret", "Graph:TenantId")]
    [InlineData("ClientSecret", "Graph:ClientId")]
    [InlineData("ClientSecret", "Graph:ClientSecret")]
    [InlineData("Certificate", "Graph:CertificatePath")]
    public void Options_ModeWithoutItsKeys_FailsNamingEachKey(string mode, string key)
    {
        using var services = GraphHarness.BuildServices(new() { ["Graph:AuthMode"] = mode });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GraphOptions>>().Value);

        Assert.Contains($"{key} is required when Graph:AuthMode is {mode}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Graph:MaxBatchSize", "21")]
    [InlineData("Graph:MaxBatchSize", "0")]
    [InlineData("Graph:TimeoutSeconds", "0")]
    [InlineData("Graph:MaxConcurrentCalls", "0")]
    [InlineData("Graph:AtlassianAccountIdAttribute", "employeeId eq 'x' or 1")]
    [InlineData("Graph:MailSender", "not a mailbox")]
    [InlineData("Graph:ManagedIdentityClientId", "my-identity")]
    [InlineData("Graph:BaseUrl", "http://graph.example.com/v1.0")]
    [InlineData("Graph:AuthorityHost", "login.microsoftonline.us")]
    public void Options_BadValue_FailsNamingTheKey(string key, string value)
    {
        using var services = GraphHarness.BuildServices(new() { ["Graph:AuthMode"] = "ManagedIdentity", [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_CertificateFileMissing_FailsNamingKey()
    {
        using var services = GraphHarness.BuildServices(Certificate(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".pfx"), null));

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GraphOptions>>().Value);

        Assert.Contains("Graph:CertificatePath", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_CertificateAsPemWithKey_IsValidAndBuildsACredential()
    {
        using var certificate = SelfSigned();
        var path = TempFile(".pem", certificate.ExportCertificatePem() + "\n" + certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        using var services = GraphHarness.BuildServices(Certificate(path, null));

        var options = services.GetRequiredService<IOptions<GraphOptions>>().Value;

        Assert.IsType<ClientCertificateCredential>(GraphClientBuilder.CreateCredential(options));
    }

    [Fact]
    public void Options_CertificateAsPfxWithWrongPassword_FailsNamingPasswordKey()
    {
        using var certificate = SelfSigned();
        var path = TempFile(".pfx", certificate.Export(X509ContentType.Pkcs12, "right"));
        using var services = GraphHarness.BuildServices(Certificate(path, "wrong"));

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GraphOptions>>().Value);

        Assert.Contains("Graph:CertificatePassword", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_CertificateAsPfxWithPassword_IsValid()
    {
        using var certificate = SelfSigned();
        var path = TempFile(".pfx", certificate.Export(X509ContentType.Pkcs12, "right"));
        using var services = GraphHarness.BuildServices(Certificate(path, "right"));

        services.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void AllowedHosts_SovereignCloudBaseUrl_IsAddedButLoopbackNeverIs()
    {
        Assert.Contains("graph.microsoft.us", GraphClientBuilder.AllowedHosts(new Uri("https://graph.microsoft.us/v1.0")));
        Assert.Contains("graph.contoso-sovereign.example", GraphClientBuilder.AllowedHosts(new Uri("https://graph.contoso-sovereign.example/v1.0")));
        Assert.DoesNotContain("127.0.0.1", GraphClientBuilder.AllowedHosts(new Uri("http://127.0.0.1:5000/v1.0")));
        Assert.DoesNotContain("localhost", GraphClientBuilder.AllowedHosts(new Uri("https://localhost:5000/v1.0")));
    }

    [Fact]
    public async Task Auth_ClientSecretAgainstLoopbackServer_SendsNoToken()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
        using var services = GraphHarness.BuildServices(new()
        {
            ["Graph:BaseUrl"] = server.Url + "/v1.0",
            ["Graph:AuthMode"] = "ClientSecret",
            ["Graph:TenantId"] = TenantId,
            ["Graph:ClientId"] = ClientId,
            ["Graph:ClientSecret"] = "not-a-real-secret",
        });

        var result = await services.GetRequiredService<IDirectory>()
            .ApplyAsync(new IamFulfillment.Core.Fulfilment.RevokeSessions(Guid.NewGuid().ToString()), default);

        Assert.True(result.Succeeded);
        Assert.False(Assert.Single(server.LogEntries).RequestMessage!.Headers!.ContainsKey("Authorization"));
    }

    private static Dictionary<string, string?> Certificate(string path, string? password) => new()
    {
        ["Graph:AuthMode"] = "Certificate",
        ["Graph:TenantId"] = TenantId,
        ["Graph:ClientId"] = ClientId,
        ["Graph:CertificatePath"] = path,
        ["Graph:CertificatePassword"] = password,
    };

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=iam-fulfillment-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.CreateSelfSigned(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100));
    }

    private static string TempFile(string extension, string text) => TempFile(extension, System.Text.Encoding.ASCII.GetBytes(text));

    private static string TempFile(string extension, byte[] content)
    {
        var path = Path.Combine(Path.GetTempPath(), "iamf-graph-" + Guid.NewGuid() + extension);
        File.WriteAllBytes(path, content);
        return path;
    }
}
