<?php

/**
 * TempusMail: the panel's settings in Roundcube.
 *
 * The panel is the source of truth. At login (and again every `tempusmail_refresh` seconds
 * while the user works) this plugin reads the user's effective settings from the panel
 * (GET tempusmail_api_url?address=…&service=webmail, authenticated with the provider's
 * services key, docs/services.md) and applies them:
 *
 *  - language, time zone, date and time formats (hidden from Roundcube's own settings);
 *  - one identity per panel identity (the address and its aliases) with its display name,
 *    its default signature (HTML or plain text) and "sender in BCC";
 *  - the corporate signature, which the user cannot remove or replace when it is mandatory;
 *  - the company address book as a read-only address book (also used for autocompletion).
 *
 * Identities' names, addresses and signatures are read-only here: they are edited in the
 * portal. If the panel cannot be reached the last applied settings stay.
 */
class tempusmail extends rcube_plugin
{
    public $task = '.*';

    const BOOK_ID = 'tempusmail';

    /** Panel language code → Roundcube locale. */
    const LANGUAGES = ['en' => 'en_US', 'it' => 'it_IT'];

    /** Identity columns the panel owns. */
    const MANAGED = ['name', 'email', 'signature', 'html_signature', 'bcc'];

    private $rc;

    public function init()
    {
        $this->rc = rcmail::get_instance();
        $this->add_texts('localization/');
        $this->add_hook('login_after', [$this, 'login_after']);
        $this->add_hook('startup', [$this, 'startup']);
        $this->add_hook('identity_form', [$this, 'identity_form']);
        $this->add_hook('identity_create', [$this, 'identity_create']);
        $this->add_hook('identity_update', [$this, 'identity_update']);
        $this->add_hook('identity_delete', [$this, 'identity_delete']);
        $this->add_hook('addressbooks_list', [$this, 'addressbooks_list']);
        $this->add_hook('addressbook_get', [$this, 'addressbook_get']);
    }

    // --- when to sync -----------------------------------------------------------------

    public function login_after($args)
    {
        $this->sync();
        return $args;
    }

    public function startup($args)
    {
        $every = (int) $this->rc->config->get('tempusmail_refresh', 300);
        $state = isset($_SESSION['tempusmail']) ? $_SESSION['tempusmail'] : null;
        if (!empty($_SESSION['user_id']) && $every > 0
            && (!$state || time() - $state['synced'] >= $every)
        ) {
            $this->sync();
        }
        elseif (!empty($_SESSION['tempusmail'])) {
            // Plugins start before the session: the panel's values are applied here.
            $this->apply_config($_SESSION['tempusmail']);
        }
        return $args;
    }

    // --- reading the panel ------------------------------------------------------------

    /** The effective settings document, or null (logged) when the panel does not answer. */
    private function fetch($address)
    {
        $url = (string) $this->rc->config->get('tempusmail_api_url');
        $key = (string) $this->rc->config->get('tempusmail_api_key');
        if ($url === '' || $key === '') {
            rcube::raise_error(['code' => 500, 'message' => 'tempusmail: API URL or key missing'], true);
            return null;
        }
        $query = http_build_query(['address' => $address, 'service' => 'webmail']);
        $context = stream_context_create(['http' => [
            'method' => 'GET',
            'header' => "Authorization: Bearer $key\r\nAccept: application/json\r\n",
            'timeout' => (float) $this->rc->config->get('tempusmail_api_timeout', 5),
            'ignore_errors' => true,
        ]]);
        $body = @file_get_contents($url . (strpos($url, '?') === false ? '?' : '&') . $query, false, $context);
        $status = isset($http_response_header[0]) ? $http_response_header[0] : 'no answer';
        if ($body === false || !preg_match('#^HTTP/\S+ 200#', $status)) {
            rcube::raise_error(['code' => 500, 'message' => "tempusmail: panel answered $status for $address"], true);
            return null;
        }
        $doc = json_decode($body, true);
        return is_array($doc) ? $doc : null;
    }

    // --- applying ---------------------------------------------------------------------

    private function sync()
    {
        $user = $this->rc->user;
        if (!$user || !$user->ID) {
            return;
        }
        $doc = $this->fetch($user->get_username());
        if ($doc === null) {
            if (isset($_SESSION['tempusmail'])) {
                $_SESSION['tempusmail']['synced'] = time();  // try again later, not every request
            }
            return;
        }
        $loc = $doc['localization'];
        $identities = $this->wanted_identities($doc);
        $state = [
            'synced' => time(),
            'timezone' => $loc['time_zone'],
            'date_format' => $loc['date_format'],
            'time_format' => $loc['time_format'],
            'mandatory' => $doc['signature_policy'] === 'mandatory',
            'identities' => $identities,
        ];
        $_SESSION['tempusmail'] = $state;

        $lang = isset(self::LANGUAGES[$loc['language']]) ? self::LANGUAGES[$loc['language']] : 'en_US';
        $this->rc->load_language($lang);
        $prefs = [
            'timezone' => $state['timezone'],
            'date_format' => $state['date_format'],
            'time_format' => $state['time_format'],
        ];
        $html = false;
        foreach ($identities as $identity) {
            $html = $html || $identity['html_signature'];
        }
        $saved = $user->get_prefs();
        if ($html && !isset($saved['htmleditor'])) {
            $prefs['htmleditor'] = 1;  // once: an HTML signature needs the HTML editor
        }
        if ($state['mandatory']) {
            $prefs['show_sig'] = 1;
        }
        $user->save_prefs($prefs);
        $this->apply_identities($identities);
        $book = $this->rc->get_cache('tempusmail', 'db', 0, true);
        if ($book) {
            $book->write('book', isset($doc['address_book']) ? $doc['address_book'] : []);
        }
        $this->apply_config($state);
    }

    /** address (lower case) → identity columns, the primary address first. */
    private function wanted_identities($doc)
    {
        $signatures = [];
        foreach ($doc['signatures'] as $signature) {
            $signatures[$signature['id']] = $signature;
        }
        $wanted = [];
        foreach ($doc['identities'] as $identity) {
            $choice = $identity['default_signature'];
            $signature = null;
            if ($choice === 'corporate') {
                $signature = $doc['corporate_signature'];
            }
            elseif ($choice !== null && isset($signatures[$choice])) {
                $signature = $signatures[$choice];
            }
            $body = '';
            $is_html = 0;
            if ($signature && trim((string) $signature['html']) !== '') {
                $body = $signature['html'];
                $is_html = 1;
            }
            elseif ($signature) {
                $body = (string) $signature['text'];
            }
            $bcc = $signature && !empty($signature['bcc_sender']) ? $identity['address'] : '';
            $wanted[strtolower($identity['address'])] = [
                'name' => (string) $identity['display_name'],
                'email' => $identity['address'],
                'signature' => $body,
                'html_signature' => $is_html,
                'bcc' => $bcc,
                'primary' => !empty($identity['primary']),
            ];
        }
        return $wanted;
    }

    private function apply_identities($wanted)
    {
        $user = $this->rc->user;
        $kept = [];
        $extra = [];
        foreach ($user->list_identities() as $held) {
            $address = strtolower($held['email']);
            if (isset($wanted[$address]) && !isset($kept[$address])) {
                $columns = array_intersect_key($wanted[$address], array_flip(self::MANAGED));
                $user->update_identity($held['identity_id'], $columns);
                $kept[$address] = $held['identity_id'];
            }
            else {
                $extra[] = $held['identity_id'];  // an address the panel does not give
            }
        }
        foreach ($wanted as $address => $identity) {
            if (!isset($kept[$address])) {
                $columns = array_intersect_key($identity, array_flip(self::MANAGED));
                $kept[$address] = $user->insert_identity($columns);
            }
            if ($identity['primary'] && $kept[$address]) {
                $user->set_default($kept[$address]);
            }
        }
        foreach ($extra as $iid) {
            $user->delete_identity($iid);
        }
    }

    /** Per request: the panel's values win over anything stored, and are not offered for
     * editing in Roundcube's settings. */
    private function apply_config($state)
    {
        $config = $this->rc->config;
        foreach (['timezone', 'date_format', 'time_format'] as $name) {
            $config->set($name, $state[$name]);
        }
        $locked = ['language', 'timezone', 'date_format', 'time_format'];
        if (!empty($state['mandatory'])) {
            $config->set('show_sig', 1);
            $locked[] = 'show_sig';
        }
        $config->set('dont_override', array_values(array_unique(array_merge(
            (array) $config->get('dont_override', []), $locked
        ))));
        // Several identities (the aliases) whose addresses the user cannot change.
        $config->set('identities_level', 1);
        $sources = (array) $config->get('autocomplete_addressbooks', ['sql']);
        if (!in_array(self::BOOK_ID, $sources)) {
            $sources[] = self::BOOK_ID;
            $config->set('autocomplete_addressbooks', $sources);
        }
    }

    // --- identities are the panel's -------------------------------------------------------

    public function identity_form($args)
    {
        if (empty($_SESSION['tempusmail'])) {
            return $args;
        }
        foreach ($args['form'] as $section => $fields) {
            if (!isset($fields['content']) || !is_array($fields['content'])) {
                continue;  // a section rendered as HTML (encryption keys)
            }
            foreach (self::MANAGED as $name) {
                unset($args['form'][$section]['content'][$name]);
            }
        }
        unset($args['form']['signature']);
        $args['form']['addressing']['content']['tempusmail_note'] = [
            'type' => 'text',
            'label' => $this->gettext('managed'),
            'value' => rcube::Q($this->gettext('managed_help')),
        ];
        return $args;
    }

    public function identity_create($args)
    {
        if (!empty($_SESSION['tempusmail'])) {
            $args['abort'] = true;
            $args['message'] = 'tempusmail.identities_from_panel';
        }
        return $args;
    }

    public function identity_update($args)
    {
        $state = isset($_SESSION['tempusmail']) ? $_SESSION['tempusmail'] : null;
        if (!$state) {
            return $args;
        }
        $held = $this->rc->user->get_identity($args['id']);
        $address = $held ? strtolower($held['email']) : '';
        if (!isset($state['identities'][$address])) {
            $args['abort'] = true;
            return $args;
        }
        // Whatever was posted, the panel's name, address and signature stay.
        $panel = array_intersect_key($state['identities'][$address], array_flip(self::MANAGED));
        $args['record'] = $panel + (array) $args['record'];
        return $args;
    }

    public function identity_delete($args)
    {
        if (!empty($_SESSION['tempusmail'])) {
            $args['abort'] = true;
            $args['message'] = 'tempusmail.identities_from_panel';
        }
        return $args;
    }

    // --- the company address book ------------------------------------------------------

    public function addressbooks_list($args)
    {
        if (!empty($_SESSION['user_id'])) {
            $args['sources'][self::BOOK_ID] = [
                'id' => self::BOOK_ID,
                'name' => $this->gettext('company_book'),
                'readonly' => true,
                'groups' => false,
            ];
        }
        return $args;
    }

    public function addressbook_get($args)
    {
        if ($args['id'] === self::BOOK_ID) {
            require_once __DIR__ . '/tempusmail_addressbook.php';
            $cache = $this->rc->get_cache('tempusmail', 'db', 0, true);
            $entries = $cache ? $cache->read('book') : [];
            $args['instance'] = new tempusmail_addressbook(
                $this->gettext('company_book'), is_array($entries) ? $entries : []
            );
        }
        return $args;
    }
}
