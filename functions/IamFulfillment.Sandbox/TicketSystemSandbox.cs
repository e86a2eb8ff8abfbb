using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace IamFulfillment.Sandbox;

/// <summary>
/// What the ServiceNow and Jira sandboxes share: a loopback WireMock.Net server whose one callback is the platform,
/// behind the <see cref="SandboxFrontDoor"/> (latency, faults, holds, call log), and a replaceable clock.
/// </summary>
public abstract class TicketSystemSandbox : IDisposable
{
    private WireMockServer? _server;
    private TimeProvider _time;

    protected TicketSystemSandbox(TimeProvider time, SandboxFaults faults, Func<HttpRequest, IReadOnlyDictionary<string, string>>? headersToLog = null)
    {
        _time = time;
        FrontDoor = new SandboxFrontDoor(faults, () => _time, headersToLog);
    }

    /// <summary>Base address, e.g. http://127.0.0.1:51234 (use it as the connector's URL setting).</summary>
    public string Url { get; private set; } = "";

    /// <summary>Latency, faults, holds and the call log in front of the platform.</summary>
    public SandboxFrontDoor FrontDoor { get; }

    public SandboxFaults Faults => FrontDoor.Faults;

    /// <summary>Requests a test holds at the front door (e.g. a write-back while the service is killed).</summary>
    public RequestHolds Holds => FrontDoor.Holds;

    /// <summary>The sandbox clock; replace it (e.g. with a fake) to control every time it writes.</summary>
    public TimeProvider Time
    {
        get => _time;
        set => _time = value;
    }

    /// <summary>Fixed latency added to every call, as a real round trip would.</summary>
    public TimeSpan Latency
    {
        get => FrontDoor.Latency;
        set => FrontDoor.Latency = value;
    }

    /// <summary>Every call so far (up to <see cref="SandboxFrontDoor.MaxCallLog"/>), oldest first.</summary>
    public IReadOnlyList<SandboxCall> Calls => FrontDoor.Calls;

    /// <summary>The most calls that were in progress at once (shows whether a client runs calls in parallel).</summary>
    public int PeakConcurrency => FrontDoor.PeakConcurrency;

    /// <summary>Raised for every call as it is logged (after the latency and the handling), on the server's thread: keep handlers short.</summary>
    public event Action<SandboxCall>? CallLogged
    {
        add => FrontDoor.CallLogged += value;
        remove => FrontDoor.CallLogged -= value;
    }

    /// <summary>Calls with this method whose path contains <paramref name="pathContains"/> (case-insensitive); faulted calls count too.</summary>
    public int CallCount(string method, string? pathContains = null) => FrontDoor.CallCount(method, pathContains);

    public void ResetCalls() => FrontDoor.ResetCalls();

    public void Dispose()
    {
        Holds.DropAll();
        _server?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts the server (on <paramref name="port"/>, or any free one) once the platform's state is seeded.</summary>
    protected void Start(int? port, Func<IRequestMessage, Task<IResponseMessage>> handle)
    {
        ServiceNow.WireMockStartup.SkipPluginScan();
        _server = WireMockServer.Start(new WireMockServerSettings
        {
            Port = port ?? 0,
            StartAdminInterface = false,
            MaxRequestLogCount = 0,
            DisableJsonBodyParsing = true,
            DisableDeserializeFormUrlEncoded = true,
            PreWireMockMiddlewareInit = app => ((IApplicationBuilder)app).Use(FrontDoor.InvokeAsync),
        });
        _server.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithCallback(handle));
        Url = $"http://127.0.0.1:{_server.Ports[0].ToString(CultureInfo.InvariantCulture)}";
    }
}
