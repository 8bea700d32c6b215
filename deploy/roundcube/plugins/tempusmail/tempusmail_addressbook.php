<?php

/**
 * The company address book: the panel's visible, active colleagues, read-only.
 * Entries are the `address_book` list of the panel's settings document (name, email,
 * job_title, phone), kept in Roundcube's cache by the tempusmail plugin at each sync.
 */
class tempusmail_addressbook extends rcube_addressbook
{
    public $primary_key = 'ID';
    public $readonly = true;
    public $groups = false;

    private $name;
    private $records = [];
    private $filter = null;
    private $result = null;

    public function __construct($name, $entries)
    {
        $this->name = $name;
        $this->ready = true;
        foreach ($entries as $entry) {
            $name = (string) $entry['name'];
            $parts = preg_split('/\s+/', trim($name), 2);
            $record = [
                'ID' => rtrim(strtr(base64_encode($entry['email']), '+/', '-_'), '='),
                'name' => $name !== '' ? $name : $entry['email'],
                'firstname' => $parts[0],
                'surname' => isset($parts[1]) ? $parts[1] : '',
                'email' => [$entry['email']],
            ];
            if (!empty($entry['job_title'])) {
                $record['jobtitle'] = $entry['job_title'];
            }
            if (!empty($entry['phone'])) {
                $record['phone:work'] = [$entry['phone']];
            }
            $this->records[$record['ID']] = $record;
        }
    }

    public function get_name()
    {
        return $this->name;
    }

    public function set_search_set($filter)
    {
        $this->filter = $filter;
    }

    public function get_search_set()
    {
        return $this->filter;
    }

    public function reset()
    {
        $this->result = null;
        $this->filter = null;
    }

    private function matching()
    {
        if ($this->filter === null || $this->filter === '') {
            return array_values($this->records);
        }
        $needle = mb_strtolower((string) $this->filter);
        $found = [];
        foreach ($this->records as $record) {
            $haystack = mb_strtolower(implode(' ', [
                $record['name'], implode(' ', $record['email']),
                isset($record['jobtitle']) ? $record['jobtitle'] : '',
            ]));
            if (strpos($haystack, $needle) !== false) {
                $found[] = $record;
            }
        }
        return $found;
    }

    public function list_records($cols = null, $subset = 0, $nocount = false)
    {
        $all = $this->matching();
        $first = ($this->list_page - 1) * $this->page_size;
        $result = new rcube_result_set(count($all), $first);
        $length = $subset != 0 ? abs($subset) : $this->page_size;
        if ($subset < 0) {
            $first += $this->page_size - $length;
        }
        foreach (array_slice($all, $first, $length) as $record) {
            $result->add($record);
        }
        return $this->result = $result;
    }

    public function search($fields, $value, $mode = 0, $select = true, $nocount = false, $required = [])
    {
        if (is_array($value)) {
            $value = implode(' ', $value);
        }
        if ($fields === $this->primary_key || $fields === 'ID') {
            $result = new rcube_result_set(0);
            foreach ((array) explode(',', (string) $value) as $id) {
                if (isset($this->records[$id])) {
                    $result->add($this->records[$id]);
                }
            }
            $result->count = count($result->records);
            return $this->result = $result;
        }
        $this->filter = (string) $value;
        return $select ? $this->list_records() : $this->count();
    }

    public function count()
    {
        return new rcube_result_set(count($this->matching()), ($this->list_page - 1) * $this->page_size);
    }

    public function get_result()
    {
        return $this->result;
    }

    public function get_record($id, $assoc = false)
    {
        $record = isset($this->records[$id]) ? $this->records[$id] : null;
        if ($assoc) {
            return $record;
        }
        $result = new rcube_result_set($record ? 1 : 0);
        if ($record) {
            $result->add($record);
        }
        return $this->result = $result;
    }

    public function get_record_groups($id)
    {
        return [];
    }

    public function set_group($gid)
    {
    }

    public function create_group($name)
    {
        return false;
    }

    public function delete_group($gid)
    {
        return false;
    }

    public function rename_group($gid, $newname, &$newid)
    {
        return false;
    }

    public function add_to_group($group_id, $ids)
    {
        return false;
    }

    public function remove_from_group($group_id, $ids)
    {
        return false;
    }
}
