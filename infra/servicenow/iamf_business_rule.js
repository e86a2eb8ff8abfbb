/*
 * IamFulfillment: ServiceNow -> service webhook.
 *
 * One file, several records. Each section below (between the "// ===== <record> =====" banners) is pasted into
 * the record its banner names; installation steps are in the README (ServiceNow set-up).
 *
 * Contract (the service's intake verifies exactly this):
 *   POST {x_iamf.endpoint}/api/webhooks/servicenow
 *   Content-Type: application/json
 *   body:  {"sys_id":"<ritm sys_id>","table":"sc_req_item","sys_mod_count":"<n>","sys_updated_on":"<yyyy-MM-dd HH:mm:ss>"}
 *   X-IamF-Delivery:  a GUID, the same across the retries of one delivery
 *   X-IamF-Timestamp: UNIX seconds when first sent, the same across retries
 *   X-IamF-Signature: CertificateEncryption.generateMac(<base64 key>, "HmacSHA256", timestamp + "." + delivery + "." + body)
 * The body only says WHICH item changed; the service reads everything else from the Table API.
 *
 * Retries: RESTMessageV2 does not retry. A delivery that fails with HTTP 5xx, 408, 429 or no answer (status 0)
 * is re-queued with gs.eventQueueScheduled (event x_iamf.webhook.retry) after 2 s, 8 s, 30 s and 60 s: no worker
 * sleeps, and the same delivery id, timestamp and body are re-sent (so the same signature). The waits add up to
 * about two minutes, inside the intake's signature age window (ServiceNow:MaxSignatureAgeSeconds, 300 s).
 * 2xx and other 4xx answers stop.
 *
 * System properties (sys_properties):
 *   x_iamf.endpoint          https://<service host>            (string)
 *   x_iamf.webhook_secret    base64 HMAC key                    (password2; read roles: admin)
 *   x_iamf.integration_user  user name the service writes as  (string) - its own changes never signal
 *   x_iamf.closed_states     3,4,7                              (string) - closed RITM states
 */

// ===== Script Include: IamFWebhook =====
// Name: IamFWebhook | Application: Global | Accessible from: This application scope only | Client callable: false
var IamFWebhook = Class.create();
IamFWebhook.prototype = {
    EVENT: 'x_iamf.webhook.retry',
    PATH: '/api/webhooks/servicenow',
    RETRY_DELAYS_SECONDS: [2, 8, 30, 60],
    TIMEOUT_MS: 10000,

    initialize: function () {
        this.endpoint = String(gs.getProperty('x_iamf.endpoint', '')).replace(/\/+$/, '');
        this.integrationUser = String(gs.getProperty('x_iamf.integration_user', ''));
        this.closedStates = String(gs.getProperty('x_iamf.closed_states', '3,4,7')).split(',');
    },

    /* Condition of the sc_req_item rule. Evaluated when the change is made (not in the async job), so
       gs.getUserName() is the person (or the service) who made it and changes() works. */
    itemChangeMatters: function (current) {
        if (this.isIntegrationUser()) {
            return false; // the service's own write-back must not trigger it again
        }
        if (current.operation() == 'insert') {
            return true;
        }
        var stateChanged = current.state.changes();
        if (this.isClosed(current.getValue('state')) && !stateChanged) {
            return false; // closed items stay quiet unless a person changes the state (reopens)
        }
        return stateChanged || current.approval.changes() || current.requested_for.changes() || current.cat_item.changes();
    },

    isIntegrationUser: function () {
        return this.integrationUser !== '' && String(gs.getUserName()) == this.integrationUser;
    },

    isClosed: function (state) {
        return this.closedStates.indexOf(String(state)) >= 0;
    },

    /* First attempt of a new delivery for a requested item. */
    signalItem: function (ritm) {
        var body = JSON.stringify({
            sys_id: String(ritm.getUniqueValue()),
            table: 'sc_req_item',
            sys_mod_count: String(ritm.getValue('sys_mod_count')),
            sys_updated_on: String(ritm.getValue('sys_updated_on'))
        });
        var delivery = this.newDeliveryId();
        var timestamp = String(Math.floor(new GlideDateTime().getNumericValue() / 1000));
        this.deliver(ritm, body, delivery, timestamp, 1);
    },

    /* Items that are not closed: an approval or a variable changed on an item still in progress. */
    signalItemIfOpen: function (ritm) {
        if (!this.isClosed(ritm.getValue('state'))) {
            this.signalItem(ritm);
        }
    },

    /* An approval decided on a requested item, or on its parent request (then every item of the request). */
    signalForApproval: function (approval) {
        var taskId = approval.getValue('sysapproval') || approval.getValue('document_id');
        var item = new GlideRecord('sc_req_item');
        if (item.get(taskId)) {
            this.signalItemIfOpen(item);
            return;
        }
        var items = new GlideRecord('sc_req_item');
        items.addQuery('request', taskId);
        items.query();
        while (items.next()) {
            this.signalItemIfOpen(items);
        }
    },

    /* A variable value changed: signal the item(s) that own it. */
    signalForVariable: function (option) {
        var owners = new GlideRecord('sc_item_option_mtom');
        owners.addQuery('sc_item_option', option.getUniqueValue());
        owners.query();
        while (owners.next()) {
            var item = new GlideRecord('sc_req_item');
            if (item.get(owners.getValue('request_item'))) {
                this.signalItemIfOpen(item);
            }
        }
    },

    /* Sends one attempt; on a retryable failure schedules the next attempt of the same delivery. */
    deliver: function (ritm, body, delivery, timestamp, attempt) {
        var status = this.post(body, delivery, timestamp);
        if (status >= 200 && status < 300) {
            return;
        }
        if (this.isRetryable(status) && attempt <= this.RETRY_DELAYS_SECONDS.length) {
            var when = new GlideDateTime();
            when.addSeconds(this.RETRY_DELAYS_SECONDS[attempt - 1]);
            var state = JSON.stringify({ delivery: delivery, timestamp: timestamp, attempt: attempt + 1 });
            gs.eventQueueScheduled(this.EVENT, ritm, state, body, when);
            return;
        }
        gs.warn('IamF webhook for ' + ritm.getValue('number') + ' not delivered (HTTP ' + status + ', attempt ' + attempt + ', delivery ' + delivery + ')');
    },

    /* POSTs the signed body; returns the HTTP status, 0 when there was no answer, -1 when not configured. */
    post: function (body, delivery, timestamp) {
        var secret = gs.getProperty('x_iamf.webhook_secret', '');
        if (this.endpoint === '' || !secret) {
            gs.error('IamF webhook: set the system properties x_iamf.endpoint and x_iamf.webhook_secret');
            return -1;
        }
        var crypto = typeof CertificateEncryption != 'undefined' ? new CertificateEncryption() : new GlideCertificateEncryption();
        var signature = crypto.generateMac(secret, 'HmacSHA256', timestamp + '.' + delivery + '.' + body);
        var request = new sn_ws.RESTMessageV2();
        request.setEndpoint(this.endpoint + this.PATH);
        request.setHttpMethod('post');
        request.setRequestHeader('Content-Type', 'application/json');
        request.setRequestHeader('X-IamF-Delivery', delivery);
        request.setRequestHeader('X-IamF-Timestamp', timestamp);
        request.setRequestHeader('X-IamF-Signature', signature);
        request.setRequestBody(body);
        request.setHttpTimeout(this.TIMEOUT_MS);
        try {
            return Number(request.execute().getStatusCode()) || 0;
        } catch (e) {
            return 0; // no answer: connection refused, DNS, timeout
        }
    },

    isRetryable: function (status) {
        return status === 0 || status == 408 || status == 429 || status >= 500;
    },

    /* A GUID in its usual 8-4-4-4-12 form. */
    newDeliveryId: function () {
        var g = String(gs.generateGUID());
        return g.substr(0, 8) + '-' + g.substr(8, 4) + '-' + g.substr(12, 4) + '-' + g.substr(16, 4) + '-' + g.substr(20, 12);
    },

    type: 'IamFWebhook'
};

// ===== Business Rule: IamF signal requested item =====
// Table: sc_req_item | When: async | Insert: yes | Update: yes | Order: 1000
// Condition: new IamFWebhook().itemChangeMatters(current)
(function executeRule(current, previous /* null in async rules */) {
    new IamFWebhook().signalItem(current);
})(current, previous);

// ===== Business Rule: IamF signal approval =====
// Table: sysapproval_approver | When: async | Update: yes | Order: 1000
// Condition: current.state.changes() && !new IamFWebhook().isIntegrationUser()
(function executeRule(current, previous /* null in async rules */) {
    new IamFWebhook().signalForApproval(current);
})(current, previous);

// ===== Business Rule: IamF signal variable =====
// Table: sc_item_option | When: async | Update: yes | Order: 1000
// Condition: current.value.changes() && !new IamFWebhook().isIntegrationUser()
(function executeRule(current, previous /* null in async rules */) {
    new IamFWebhook().signalForVariable(current);
})(current, previous);

// ===== Script Action: IamF webhook retry =====
// Event name: x_iamf.webhook.retry (register it in the Event Registry on table sc_req_item) | Active: yes
(function retry(event, current) {
    var state = JSON.parse(event.parm1);
    new IamFWebhook().deliver(current, String(event.parm2), state.delivery, state.timestamp, state.attempt);
})(event, current);
