using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace IamFulfillment.Benchmarks;

/// <summary>Memory of the host process as the OS sees it.</summary>
/// <param name="WorkingSetBytes">Resident set (VmRSS).</param>
/// <param name="PrivateBytes">Resident memory no other process shares (Private_Clean + Private_Dirty of smaps_rollup).</param>
/// <param name="PeakWorkingSetBytes">Highest resident set so far (VmHWM).</param>
public sealed record HostMemory(long WorkingSetBytes, long PrivateBytes, long PeakWorkingSetBytes);

/// <summary>
/// The standalone host run as its own process (<c>dotnet IamFulfillment.Host.dll</c>) with its configuration in
/// environment variables, as a deployment runs it. Start-up is timed from process start to the first webhook the
/// host accepts (202): the ITSM's point of view.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private HostProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts the host and sends <paramref name="firstWebhook"/> until it is accepted.</summary>
    public static async Task<(HostProcess Host, TimeSpan StartUp)> StartAsync(string hostDll, IReadOnlyDictionary<string, string> environment, Uri address,
        Func<Uri, HttpRequestMessage> firstWebhook, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(hostDll)!,
        };
        info.ArgumentList.Add(hostDll);
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), PooledConnectionLifetime = TimeSpan.Zero })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var clock = Stopwatch.StartNew();
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        var host = new HostProcess(process, address);
        process.OutputDataReceived += (_, e) => host.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => host.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)} during start-up:\n{host.Output}");
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                await host.DisposeAsync();
                throw new TimeoutException($"The host accepted no webhook within 60 s:\n{host.Output}");
            }

            try
            {
                using var request = firstWebhook(address);
                using var response = await http.SendAsync(request, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    return (host, clock.Elapsed);
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    var body = await response.Content.ReadAsStringAsync(cancellationToken);
                    await host.DisposeAsync();
                    throw new InvalidOperationException($"The host answered the first webhook with {(int)response.StatusCode}: {body}");
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(5, cancellationToken);
        }
    }

    /// <summary>The last lines the host wrote (for diagnosing a failed run).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public HostMemory Memory()
    {
        long Field(string file, string name)
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith(name + ":", StringComparison.Ordinal))
                {
                    var digits = line[(name.Length + 1)..].Trim().Split(' ')[0];
                    return long.Parse(digits, CultureInfo.InvariantCulture) * 1024;
                }
            }

            return 0;
        }

        var status = $"/proc/{_process.Id.ToString(CultureInfo.InvariantCulture)}/status";
        var rollup = $"/proc/{_process.Id.ToString(CultureInfo.InvariantCulture)}/smaps_rollup";
        return new HostMemory(Field(status, "VmRSS"), Field(rollup, "Private_Clean") + Field(rollup, "Private_Dirty"), Field(status, "VmHWM"));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > 200)
            {
                _output.Dequeue();
            }
        }
    }
}
