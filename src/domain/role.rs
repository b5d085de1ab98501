//! Roles of the after-sales department and what each may do.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 总经理
    GeneralManager,
    /// 服务部经理 / 管理者代表
    ServiceManager,
    /// 调度员 / 客服
    Dispatcher,
    /// 质量部
    Quality,
    /// 售后服务工程师
    Engineer,
    /// 售后仓库
    Warehouse,
    /// 系统管理员
    Admin,
}

/// Things a user may be allowed to do. Checked in the service layer, never only in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Perm {
    /// Create users, assign roles and regions, disable accounts, reset passwords.
    ManageUsers,
    /// Read the audit trail.
    ViewAudit,
    /// See every region's data, not only one's own.
    AllRegions,
    /// Create and edit customers, product models and sold units.
    EditArchive,
    /// Create entitlement (三包) policies and their new versions.
    ManagePolicies,
    /// Edit working-time calendars (hours, holidays, make-up days) and create new ones.
    ManageCalendars,
    /// Maintain the fault catalogue of each product category (质量部 and managers).
    ManageFaultCodes,
    /// Set the engineers' skills used by dispatch.
    ManageEngineers,
    /// Edit SLA policies, service contracts and which calendar a region or engineer works to.
    ManageSla,
    /// Work the follow-up visit queue and read satisfaction figures (客服, managers, quality).
    FollowUp,
    /// Edit the visit rules, the satisfaction target and the complaint policy.
    ManageCare,
    /// Register and handle complaints, suggestions and praise (客服, quality, managers); who
    /// may take which step is `rules::complaint`.
    Feedback,
    /// Keep the parts catalogue, the warehouses, reorder points and the failure-alert policy.
    ManageParts,
    /// Post stock movements at any location (receipts, transfers, scrap, counts) and pick
    /// engineers' requests (售后仓库, managers). Engineers move parts of their own van and orders.
    MoveStock,
    /// Open and close the monthly staff appraisal, enter the manager's assessment, edit the
    /// appraisal schemes and settings (R9.4). Everyone appraised enters his own self-assessment.
    Appraise,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::GeneralManager,
        Role::ServiceManager,
        Role::Dispatcher,
        Role::Quality,
        Role::Engineer,
        Role::Warehouse,
        Role::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::GeneralManager => "general_manager",
            Role::ServiceManager => "service_manager",
            Role::Dispatcher => "dispatcher",
            Role::Quality => "quality",
            Role::Engineer => "engineer",
            Role::Warehouse => "warehouse",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == s.trim())
    }

    /// The locale key of the role's display name.
    pub fn label_key(self) -> String {
        format!("role.{}", self.code())
    }

    pub fn allows(self, perm: Perm) -> bool {
        use Perm::*;
        use Role::*;
        match perm {
            ManageUsers => matches!(self, Admin),
            ViewAudit => matches!(self, Admin | GeneralManager | ServiceManager),
            AllRegions => matches!(self, Admin | GeneralManager | ServiceManager | Quality),
            ManagePolicies | ManageCalendars | ManageSla | ManageCare => {
                matches!(self, Admin | GeneralManager | ServiceManager)
            }
            FollowUp | Feedback => matches!(self, Admin | GeneralManager | ServiceManager | Dispatcher | Quality),
            EditArchive => matches!(self, Admin | GeneralManager | ServiceManager | Dispatcher | Quality),
            ManageFaultCodes => matches!(self, Admin | GeneralManager | ServiceManager | Quality),
            ManageEngineers => matches!(self, Admin | GeneralManager | ServiceManager),
            ManageParts | MoveStock => matches!(self, Admin | GeneralManager | ServiceManager | Warehouse),
            Appraise => matches!(self, Admin | GeneralManager | ServiceManager),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()), Some(r));
        }
        assert_eq!(Role::parse("boss"), None);
    }

    #[test]
    fn only_admins_manage_users_and_engineers_see_no_audit() {
        assert!(Role::Admin.allows(Perm::ManageUsers));
        assert!(!Role::GeneralManager.allows(Perm::ManageUsers));
        assert!(Role::ServiceManager.allows(Perm::ViewAudit));
        assert!(!Role::Engineer.allows(Perm::ViewAudit));
        assert!(!Role::Engineer.allows(Perm::AllRegions));
        assert!(!Role::Dispatcher.allows(Perm::AllRegions));
    }

    #[test]
    fn only_managers_and_admins_edit_entitlement_policies() {
        for r in Role::ALL {
            let expected = matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager);
            assert_eq!(r.allows(Perm::ManagePolicies), expected, "{r:?}");
        }
    }

    #[test]
    fn only_managers_and_admins_run_the_appraisal() {
        for r in Role::ALL {
            let expected = matches!(r, Role::Admin | Role::GeneralManager | Role::ServiceManager);
            assert_eq!(r.allows(Perm::Appraise), expected, "{r:?}");
        }
    }
}
