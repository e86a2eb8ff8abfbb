// Runs sections of infra/servicenow/iamf_business_rule.js under stand-ins for the ServiceNow globals it uses
// (gs, GlideRecord, GlideDateTime, CertificateEncryption, sn_ws.RESTMessageV2, Class) and prints what it did.
// Usage: node business_rule_harness.js <rule file>            one scenario (JSON) on stdin, result on stdout
//        node business_rule_harness.js <rule file> --serve    one scenario per stdin line, one result per stdout line
'use strict';
const fs = require('fs');
const vm = require('vm');
const crypto = require('crypto');
const readline = require('readline');

const rulePath = process.argv[2];
const source = fs.readFileSync(rulePath, 'utf8');

const sections = {};
let name = '(header)';
let lines = [];
for (const line of source.split(/\r?\n/)) {
    const banner = /^\/\/ ={3,} (.+?) ={3,}\s*$/.exec(line);
    if (banner) {
        sections[name] = lines.join('\n');
        name = banner[1];
        lines = [];
    } else {
        lines.push(line);
    }
}
sections[name] = lines.join('\n');

function run(scenario) {
    const out = { sections: Object.keys(sections), requests: [], events: [], logs: [], condition: null };
    const statuses = (scenario.statuses || [202]).slice();
    const records = scenario.records || {};
    const changed = new Set(scenario.changed || []);

    function asRecord(table, fields) {
        const base = {
            getUniqueValue: () => fields.sys_id,
            getValue: f => (fields[f] === undefined ? null : fields[f]),
            getTableName: () => table,
            operation: () => scenario.operation || 'update',
        };
        return new Proxy(base, {
            get(target, prop) {
                if (prop in target) return target[prop];
                if (typeof prop !== 'string') return undefined;
                return { changes: () => changed.has(prop), toString: () => String(fields[prop]) };
            },
        });
    }

    class GlideRecord {
        constructor(table) { this.table = table; this.filters = []; this.rows = []; this.index = -1; this.current = null; }
        get(id) {
            const row = (records[this.table] || []).find(r => r.sys_id === id);
            if (!row) return false;
            this.current = asRecord(this.table, row);
            return true;
        }
        addQuery(field, value) { this.filters.push([field, value]); }
        query() { this.rows = (records[this.table] || []).filter(r => this.filters.every(([f, v]) => String(r[f]) === String(v))); }
        next() {
            this.index++;
            if (this.index >= this.rows.length) return false;
            this.current = asRecord(this.table, this.rows[this.index]);
            return true;
        }
        getUniqueValue() { return this.current.getUniqueValue(); }
        getValue(f) { return this.current.getValue(f); }
    }

    class GlideDateTime {
        constructor() { this.ms = scenario.nowMs; this.added = 0; }
        getNumericValue() { return this.ms; }
        addSeconds(s) { this.added += s; this.ms += s * 1000; }
    }

    class CertificateEncryption {
        generateMac(base64Key, algorithm, data) {
            if (algorithm !== 'HmacSHA256') throw new Error('unexpected algorithm ' + algorithm);
            return crypto.createHmac('sha256', Buffer.from(base64Key, 'base64')).update(String(data), 'utf8').digest('base64');
        }
    }

    class RESTMessageV2 {
        constructor() { this.headers = {}; }
        setEndpoint(v) { this.endpoint = v; }
        setHttpMethod(v) { this.method = v; }
        setRequestHeader(n, v) { this.headers[n] = String(v); }
        setRequestBody(v) { this.body = v; }
        setHttpTimeout(v) { this.timeout = v; }
        execute() {
            const status = statuses.length ? statuses.shift() : 202;
            out.requests.push({ endpoint: this.endpoint, method: this.method, headers: this.headers, body: this.body, timeout: this.timeout });
            if (status === 'throw') throw new Error('no answer');
            return { getStatusCode: () => status };
        }
    }

    const gs = {
        getProperty: (n, d) => (Object.prototype.hasOwnProperty.call(scenario.properties || {}, n) ? scenario.properties[n] : d),
        getUserName: () => scenario.user || 'someone',
        generateGUID: () => scenario.guid || '0123456789abcdef0123456789abcdef',
        eventQueueScheduled: (eventName, gr, parm1, parm2, when) =>
            out.events.push({ name: eventName, sysId: gr.getUniqueValue(), parm1, parm2, delaySeconds: when.added }),
        warn: m => out.logs.push('warn: ' + m),
        error: m => out.logs.push('error: ' + m),
        info: m => out.logs.push('info: ' + m),
    };

    const current = scenario.current ? asRecord(scenario.current.table, scenario.current.fields) : null;
    const event = scenario.event || null;
    const context = vm.createContext({
        Class: { create: () => function () { this.initialize.apply(this, arguments); } },
        gs, GlideRecord, GlideDateTime, CertificateEncryption, sn_ws: { RESTMessageV2 },
        current, previous: null, event,
    });

    vm.runInContext(sections['Script Include: IamFWebhook'], context);
    if (scenario.conditionOf) {
        const line = /^\/\/ Condition: (.+)$/m.exec(sections[scenario.conditionOf]);
        out.condition = vm.runInContext(line[1], context);
    }
    if (scenario.run) {
        vm.runInContext(sections[scenario.run], context);
    }
    return out;
}

if (process.argv[3] === '--serve') {
    const lines = readline.createInterface({ input: process.stdin });
    lines.on('line', line => {
        let result;
        try {
            result = run(JSON.parse(line));
        } catch (e) {
            result = { error: String(e && e.stack || e) };
        }
        process.stdout.write(JSON.stringify(result) + '\n');
    });
} else {
    process.stdout.write(JSON.stringify(run(JSON.parse(fs.readFileSync(0, 'utf8')))));
}
